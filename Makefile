# Every target creates/updates .venv itself, so a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: demo test run console bench i18n check clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(PY) -m bot demo

test: $(DEVSTAMP)
	@tools/cjk-font
	$(PY) -m pytest -q

run: $(STAMP)
	$(PY) -m bot run

console: $(STAMP)
	$(PY) -m bot console

check: $(STAMP)
	$(PY) -m bot check

bench: $(DEVSTAMP)
	$(PY) -m bench $(ARGS)
	$(PY) -m bench.schedules
	$(PY) -m bench.stats_case
	$(PY) -m bench.chart_latency
	$(PY) -m bench.topics
	$(PY) -m bench.counters

# Re-extract user-facing strings and recompile the catalogs (needs the dev extra: Babel).
i18n: $(DEVSTAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k NC_:1c,2 -o bot/texts/locales/messages.pot --no-location --omit-header .
	$(VENV)/bin/pybabel update -i bot/texts/locales/messages.pot -d bot/texts/locales -D messages --no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile -d bot/texts/locales -D messages

clean:
	rm -rf $(VENV) .pytest_cache
