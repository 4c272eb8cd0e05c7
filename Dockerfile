# The bridge: gunicorn (gthread) serving the web app; `listen` runs the websocket listener.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BIND_HOST=0.0.0.0 \
    BRIDGE_ENV_FILE=/app/.docker.env \
    DATABASE_URL=sqlite:////data/bridge.sqlite3

WORKDIR /app
RUN useradd --create-home --uid 10001 bridge && mkdir /data && chown bridge /data

COPY pyproject.toml README.md manifest.json ./
COPY app_integration ./app_integration
RUN pip install --no-cache-dir .

USER bridge
VOLUME ["/data"]
EXPOSE 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PYTHON_BOT_APP_PORT', '8090') + '/healthz', timeout=4)"]
CMD ["python", "-m", "app_integration", "serve"]
