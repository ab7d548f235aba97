# hikisupport — the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app hikisupport

.PHONY: run test install install-dev db demo bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# The Nu HTML Checker (npm vnu-jar, run with the system's Java) for the HTML validity tests.
VNU := tests/tools/node_modules/vnu-jar/build/dist/vnu.jar
$(VNU): tests/tools/package.json tests/tools/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/tools --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the HTML validity tests will be skipped"; fi

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev $(VNU)

db: install
	$(FLASK) db upgrade

demo: db
	$(FLASK) demo load

## make run: install, migrate the SQLite default, load demo data once, serve on :5000, with the
## development mailbox (every mail readable at /dev/mailbox/, from this machine only)
run: demo
	DEV_MAILBOX=1 $(FLASK) run --host 127.0.0.1 --port 5000

## make test: install with dev extras and run the whole suite
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make bench: every benchmark, both databases (about half an hour; figures go in the README)
bench: install-dev
	$(BIN)/python bench/rush.py --db both --lanes --mail-nice -10
	$(BIN)/python bench/rush.py --db both --lanes --mail-nice -10 --c-only
	$(BIN)/python bench/checkin.py --db both
	$(BIN)/python bench/checkin_tap.py
	$(BIN)/python bench/report.py --db both

clean:
	rm -rf $(VENV) instance/hikisupport.sqlite3*
