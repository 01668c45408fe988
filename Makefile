# One command to run, one to test; both set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.requirements-installed
PORT   ?= 8501

.PHONY: setup browser axe proxy warehouse run dev serve lint test bench clean

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# Debian's Chromium for the browser tests, PNG export and a deck's PDF (never a downloaded
# browser), and DejaVu fonts (every Vietnamese letter) for the text Chromium draws there.
browser:
	@test -x /usr/bin/chromium && test -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium fonts-dejavu-core; }

# axe-core (package-lock.json) for the accessibility test, from the npm registry into
# node_modules/; Debian's npm when there is none. Tests only: the app loads no npm package.
axe: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q npm; }
	npm ci --ignore-scripts --no-audit --no-fund

# Debian's HAProxy for `make serve` (several app processes behind one port) and its test.
proxy:
	@test -x /usr/sbin/haproxy || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q haproxy; }

# Builds data/warehouse.duckdb (or $$DX_DB) when it is missing or from an older schema.
warehouse: setup
	$(BIN)/python -m etl ensure

run: setup browser warehouse  # browser: the Present page prints PDFs and draws PPTX pictures with Chromium
	$(BIN)/streamlit run app.py --server.port $(PORT)

# For developers: re-run the page when a source file is saved (served, the watcher is off).
dev: setup browser warehouse
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.fileWatcherType auto --server.runOnSave true

# A meeting: WORKERS app processes behind HAProxy on $(PORT), sticky by cookie (docs/operations.md).
WORKERS ?= 2
serve: setup browser warehouse proxy
	$(BIN)/python -m deploy.serve --workers $(WORKERS) --port $(PORT)

# ruff with the rule set in pyproject.toml (a second or two).
lint: setup
	$(BIN)/ruff check .

# Two workers (one per core), a test file per worker at a time so module fixtures start once.
TEST_WORKERS ?= 2
test: setup browser axe proxy lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

bench: setup warehouse
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) node_modules data/warehouse.duckdb data/warehouse.duckdb.*
