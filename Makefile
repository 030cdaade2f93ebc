# Safe Passage: `make demo` serves the demo, `make test` runs every check. Both set themselves up.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen
PORT ?= 8000

.PHONY: demo demo-code setup system-deps lint typecheck test test-postgres test-sqlite test-browser bench messages clean

# uv itself, if the machine lacks it: into .tools/, from PyPI, with the machine's Python.
.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

setup: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen --quiet

demo: setup
	SAFEPASSAGE_MODE=demo PORT=$(PORT) $(RUN) safepassage demo

demo-code: setup
	@SAFEPASSAGE_MODE=demo $(RUN) safepassage demo --code

# Debian's chromium for the browser tests, and PostgreSQL binaries when no server answers.
system-deps:
	bash scripts/system-deps.sh

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: setup
	SAFEPASSAGE_MODE=test $(RUN) mypy safepassage tests bench conftest.py

test-postgres: setup
	$(RUN) pytest -m "not browser" -p no:cacheprovider

test-sqlite: setup
	SAFEPASSAGE_TEST_DB=sqlite $(RUN) pytest -m "smoke and not browser" -p no:cacheprovider -q

test-browser: setup system-deps
	$(RUN) pytest -m browser -p no:cacheprovider

test: setup system-deps lint typecheck test-postgres test-sqlite test-browser

bench: setup
	$(RUN) python -m bench

# Extract messages (needs GNU gettext) and compile them (pure Python, polib).
messages: setup
	cd safepassage && SAFEPASSAGE_MODE=test ../$(RUN) django-admin makemessages -l sv -l ru --no-obsolete --settings=safepassage.settings
	$(RUN) python -m safepassage.lib.compilemessages

clean:
	rm -rf .venv .tools var .pytest_cache .mypy_cache .ruff_cache
