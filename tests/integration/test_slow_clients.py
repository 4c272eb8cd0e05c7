"""Slow clients are the proxy's to absorb: 40 connections that send their request a byte at a time held every
gthread worker of a bare `serve`, and `/healthz` timed out for as long as they stayed. The compose layout's
nginx (its config read from docker-compose.yml, Debian's nginx here) answers `/healthz` through them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.conftest import IN_CI, ROOT, SIGNING_KEY, SLASH_TOKEN, USER_MAP, RedmineInfo
from tests.waiting import wait_for

SLOW_CLIENTS = 40


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx-light"], capture_output=True, check=False, timeout=300)
        found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        message = "nginx is not installed (apt-get install nginx-light)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def proxy_config(upstream_port: int, listen_port: int, folder: Path) -> Path:
    """The compose file's proxy config, pointed at this machine's ports."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    content = compose["configs"]["bridge-proxy"]["content"].replace("$$", "$")
    content = content.replace("server bridge-1:8090", f"server 127.0.0.1:{upstream_port}")
    content = "\n".join(line for line in content.splitlines() if "bridge-2:8090" not in line)
    content = content.replace("listen 8090;", f"listen 127.0.0.1:{listen_port};")
    config = folder / "nginx.conf"
    config.write_text(
        f"daemon off;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{ worker_connections 512; }}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {folder};\nproxy_temp_path {folder};\n{content}\n}}\n"
    )
    return config


@pytest.fixture
def serving(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> Iterator[int]:
    """A bare `serve` (gunicorn, gthread), as `run` serves the web."""
    port = free_port()
    env = tmp_path / "bridge.env"
    env.write_text(
        f"REDMINE_URL={redmine.url}\nADMIN_REDMINE_KEY_API={redmine.admin_key}\nMATTERMOST_URL={emulator.url}\n"
        f"REDMINE_MATTERMOST_BRIDGE_APP_TOKEN={emulator.bot_token}\nUSER_MAP={USER_MAP}\n"
        f"DATABASE_URL=sqlite:///{tmp_path / 'bridge.sqlite3'}\n"
        f"MATTERMOST_SLASH_TOKENS={SLASH_TOKEN}\nREQUEST_SIGNING_KEY={SIGNING_KEY}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "app_integration", "serve", "--env-file", str(env)],
        env={**os.environ, "PYTHON_BOT_APP_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"), timeout=30)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def answers(url: str, timeout: float = 2.0) -> bool:
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def slow_clients(port: int) -> list[socket.socket]:
    """Each sends the start of a request and then nothing more, as a slow or hostile client does."""
    held = []
    for _ in range(SLOW_CLIENTS):
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.sendall(b"POST /slash HTTP/1.1\r\nHost: bridge\r\nContent-Length: 100\r\n")
        held.append(connection)
    return held


def test_the_compose_proxy_answers_health_through_40_slow_clients(serving: int, tmp_path: Path) -> None:
    binary = nginx()
    listen = free_port()
    config = proxy_config(serving, listen, tmp_path)
    proxy = subprocess.Popen([binary, "-c", str(config), "-p", str(tmp_path)], stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{listen}/healthz"), timeout=20)
        held = slow_clients(listen)
        try:
            started = time.monotonic()
            assert answers(f"http://127.0.0.1:{listen}/healthz", timeout=5.0), "the proxy let slow clients through"
            print(f"/healthz through the proxy with {SLOW_CLIENTS} slow clients: {time.monotonic() - started:.3f} s")
        finally:
            for connection in held:
                connection.close()
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


def test_a_bare_serve_is_held_by_the_same_slow_clients(serving: int) -> None:
    """Why the proxy is there (and what the README says of a bare `run` reachable from other machines)."""
    held = slow_clients(serving)
    try:
        assert not answers(f"http://127.0.0.1:{serving}/healthz", timeout=3.0)
    finally:
        for connection in held:
            connection.close()
    wait_for(lambda: answers(f"http://127.0.0.1:{serving}/healthz"), timeout=30)
