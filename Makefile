# Tandem: `make run` starts the platform, `make test` runs every check.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PYTHON ?= python3.11
VENV := .venv
RASA_VENV := .venv-rasa
UV_VERSION := 0.13.9
# The machine image keeps the CPU build of torch here; without it pip would fetch CUDA builds.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
BIN := $(VENV)/bin

.PHONY: install run test lint lint-js typecheck test-js pytest bench-bot bench-burst bench-nlu bench-kb bench-console bench-reports bench-learning bench-promotion bench-training-data bench-faults bench-multilingual clean

install: $(VENV)/.installed $(RASA_VENV)/.installed /usr/bin/chromium node_modules/.installed

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here), with CJK
# fonts so the Chinese pages' screenshots show their text.
/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else sudo apt-get update -qq && sudo apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; fi

$(VENV)/.installed: requirements/platform.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION) 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(BIN)/uv pip install --quiet --python $(BIN)/python $(FIND_LINKS) -r requirements/platform.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

# The staff pages' chart library (echarts), pinned by package-lock.json and served from
# node_modules by the api (reporting/pages.py), never copied into the repository; and the
# pinned ESLint that `lint-js` runs.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# Rasa 3.6.21 declares Python <3.11 but runs on 3.11; its pins are resolved once into
# requirements/rasa.lock and installed as they are (no resolution at install time).
$(RASA_VENV)/.installed: requirements/rasa.lock
	@test -x $(RASA_VENV)/bin/python || $(PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --disable-pip-version-check --ignore-requires-python --no-deps -r requirements/rasa.lock 2>&1 | { grep -v "^WARNING: Location" || true; }
	@$(RASA_VENV)/bin/rasa --version >/dev/null
	@touch $@

run: install
	@scripts/run.sh

lint: install lint-js
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The browser code: the staff pages' ES modules, the widget and tests/frontend (eslint.config.js).
lint-js: node_modules/.installed
	node_modules/.bin/eslint .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

# The staff pages' state and formatting modules, imported straight from their static/
# folders by Node's own test runner (no browser, no packages).
test-js:
	node --test tests/frontend/

test: lint typecheck test-js pytest

bench-bot: install
	$(BIN)/python -m bench.bot_path

# 200 customers at once, 5 messages each, over REST: embedded (SQLite, 1 api, 1 Rasa) and scaled
# (PostgreSQL, Redis, 2 api processes, 2 Rasa servers); writes bench/results/burst.json.
bench-burst: install
	nice -n 5 $(BIN)/python -m bench.burst

# The bot's intent pipeline on CLINC150 (../shared/datasets); writes bench/results/nlu_clinc150.json.
bench-nlu: install
	nice -n 10 $(BIN)/python -m bench.nlu_clinc150

# Knowledge-base retrieval on BANKING77 (../shared/datasets) and at 100k chunks;
# writes bench/results/kb_banking77.json.
bench-kb: install
	nice -n 10 $(BIN)/python -m bench.kb_banking77

# The learning loop on CLINC150: 5 examples per intent, 3 rounds of 3,000 unseen messages,
# hand-offs labelled, trained and promoted through the registry and its guard; writes
# bench/results/learning_loop.json (docs/learning_loop.md).
bench-learning: install
	nice -n 10 $(BIN)/python -m bench.learning_loop

# 10 customers chat through a live stack while a promotion switches Rasa (bot/model_switch.py);
# writes the `promotion` section of bench/results/learning_loop.json.
bench-promotion: install
	$(BIN)/python -m bench.promotion

# Candidate merge threshold on CLINC150 pairs and the cost of collecting / snapshotting;
# writes bench/results/training_data.json (docs/training_data.md).
bench-training-data: install
	nice -n 10 $(BIN)/python -m bench.training_data

# The human path: 50 customers and 5 agents over WebSockets against the api (no Rasa: every
# chat is handed off); writes bench/results/console.json (docs/benchmarks.md).
# The human path over WebSockets: SQLite with one api process, then PostgreSQL + Redis with
# two api processes (the `scaled` section of bench/results/console.json).
bench-console: install
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.console --setup scaled

# The reports at 100,000 conversations / ~1,000,000 messages on SQLite and the local
# PostgreSQL (a throw-away database); writes bench/results/reports.json (docs/benchmarks.md).
bench-reports: install
	nice -n 10 $(BIN)/python -m bench.reports

# Faults injected into live stacks: kill -9 of Rasa, the worker and an api process, the broker
# down for 30 s, PostgreSQL restarted; writes bench/results/faults.json (docs/benchmarks.md).
bench-faults: install
	nice -n 5 $(BIN)/python -m bench.faults

# English and Simplified Chinese with each encoder: the bilingual demo knowledge base, MASSIVE
# zh-CN (intent + out-of-scope, FAQ), BANKING77 and CLINC150, encode latency;
# writes bench/results/multilingual.json.
bench-multilingual: install
	nice -n 10 $(BIN)/python -m bench.multilingual

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
