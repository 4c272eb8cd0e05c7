# Two commands for a fresh machine: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
SRC := app_integration mattermost_server tests benchmarks imgs

.PHONY: demo test unit test-lowest lint fmt run bench bench-full soak imgs catalogs redmine redmine-stop redmine-prod clean venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

demo: venv
	DEMO_LOCALE=$(DEMO_LOCALE) $(BIN)/python -m mattermost_server.demo $(DEMO_ARGS)

lint: venv
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)
	$(BIN)/mypy

fmt: venv
	$(BIN)/ruff check --fix $(SRC)
	$(BIN)/ruff format $(SRC)

# pytest exits 5 when it collected no test: that must fail, never pass silently. The servers the tests start
# (Redmine instances, PostgreSQL) are stopped afterwards, unless they were running before.
test: venv lint
	@tests/services.sh snapshot .services-before; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; tests/services.sh restore .services-before; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc
	@$(MAKE) --no-print-directory test-lowest

# The quick path: the unit tests alone (no Redmine, no root, no database server), in under a minute.
unit: venv
	@$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

# The declared floors, proven: a resolver that picks the lowest allowed version of every direct dependency
# (uv's lowest-direct) installs them into a venv of their own, and the unit tests run there.
LOWEST := .venv-lowest
test-lowest:
	@test -x $(LOWEST)/bin/python || $(PYTHON) -m venv $(LOWEST)
	@$(LOWEST)/bin/python -m pip install -q uv
	$(LOWEST)/bin/python -m uv pip install -q --python $(LOWEST)/bin/python --resolution lowest-direct -e '.[test]'
	@$(LOWEST)/bin/python -m uv pip list --python $(LOWEST)/bin/python 2>/dev/null \
	  | grep -iE '^(pydantic|flask|sqlalchemy|websockets|requests|prometheus-client|babel|gunicorn) ' || true
	@$(LOWEST)/bin/python -m pytest -q -p no:cacheprovider tests/unit; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

# Two `run` replicas on one real PostgreSQL, the real Redmine and the emulator, under load with a fault about every
# minute; an exact account per kind (sent, done once, lost, doubled) into docs/benchmarks-full.md. Fails on any lost or
# doubled.
SOAK_MINUTES ?= 10
soak: venv
	$(BIN)/python -m benchmarks.soak --minutes $(SOAK_MINUTES)

run: venv
	@test -f .docker.env || { cp .docker.env.example .docker.env; \
	  echo "Created .docker.env from .docker.env.example. Fill in REDMINE_URL, ADMIN_REDMINE_KEY_API,"; \
	  echo "MATTERMOST_URL, REDMINE_MATTERMOST_BRIDGE_APP_TOKEN, MATTERMOST_SLASH_TOKENS (or APP_JWT_SECRET),"; \
	  echo "REQUEST_SIGNING_KEY and the user map, then run 'make run' again."; exit 1; }
	$(BIN)/python -m app_integration check && $(BIN)/python -m app_integration run

# Re-extracts the translatable messages and merges them into the catalogs; then translate what is new.
LOCALE := app_integration/locale
catalogs: venv
	$(BIN)/pybabel extract -o $(LOCALE)/messages.pot --project=redmine-mattermost-bridge --omit-header \
	  --sort-by-file app_integration
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -l ru -w 120 --no-fuzzy-matching --ignore-obsolete

# Every section's headline figure in under ten minutes (docs/benchmarks.md); the report ends with each section's time.
bench: venv
	$(BIN)/python -m benchmarks.run_all

# The long sizes (the 1,000-issue cycle, the 35 s outage, 10,000 replica commands) and the soak: about an hour.
bench-full: venv
	$(BIN)/python -m benchmarks.run_all --full
	$(BIN)/python -m benchmarks.soak --minutes $(SOAK_MINUTES)

imgs: venv
	@command -v dot >/dev/null || apt-get install -y -q graphviz
	@command -v chromium >/dev/null || apt-get install -y -q chromium
	@test -f build/demo-transcript.md || $(MAKE) demo
	$(BIN)/python imgs/render.py

redmine:
	redmine_server/provision_local.sh start

redmine-stop:
	redmine_server/provision_local.sh stop

redmine-prod:
	REDMINE_LOCAL_INSTANCE=bridge-prod redmine_server/provision_local.sh start

clean:
	rm -rf $(VENV) $(LOWEST) .pytest_cache .mypy_cache .ruff_cache bridge.sqlite3
