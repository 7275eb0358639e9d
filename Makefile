# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
MOCKS_PORT ?= 8100

.PHONY: demo test bench lint mocks clean tools

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

## demo: the mock departments and the gateway on http://127.0.0.1:8000/graphql (Ctrl-C stops both)
demo: $(STAMP) var/jwt-secret
	@export ONESTOP_JWT_SECRET="$$(cat var/jwt-secret)" ONESTOP_MOCKS_URL=http://127.0.0.1:$(MOCKS_PORT); \
	$(BIN)/python -m mocks --port $(MOCKS_PORT) --webhook-url http://127.0.0.1:8000/webhooks & MOCKS=$$!; \
	trap 'kill $$MOCKS 2>/dev/null' EXIT INT TERM; \
	sleep 1; \
	echo; echo "  Open http://127.0.0.1:8000/graphql and try:"; \
	echo '  { departments { id name } services(first: 5) { edges { node { id name department { id } } } } }'; echo; \
	$(BIN)/onestop token demo; echo; \
	$(BIN)/python server.py

# the development token secret: random, made once per checkout, never a built-in constant
var/jwt-secret:
	@mkdir -p var && umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(48))" > $@

## tools: what the conformance tests drive, pinned: the Node clients (tests/js/package-lock.json),
## Debian's chromium and haproxy (installed with apt-get when missing and we are root; else the tests
## that need them skip with a message, outside CI only)
JS_STAMP := tests/js/node_modules/.installed-$(shell cat tests/js/package-lock.json | cksum | cut -d' ' -f1)
$(JS_STAMP): tests/js/package-lock.json
	@command -v npm >/dev/null || { echo "tools: npm not found; the Node conformance tests will skip"; exit 0; }; \
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error && rm -f node_modules/.installed-* && touch $(notdir $@)

tools: $(JS_STAMP)
	@missing=""; test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || missing="$$missing haproxy"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "tools: installing$$missing (Debian packages)"; \
	    (apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
	     { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing >/dev/null; }) \
	     || echo "tools: could not install$$missing; tests that need them skip outside CI"; \
	  else echo "tools: missing$$missing (apt-get install -y$$missing as root); tests that need them skip outside CI"; fi; \
	fi

## test: the whole suite (PostgreSQL/Redis tests skip with a message if those are not running)
test: $(STAMP) tools
	$(BIN)/python -m pytest -q

## bench: throughput and latency, CPU per request (see bench/README.md), then the long fuzz/fault/overload suites
bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.home
	$(BIN)/python -m bench.payments
	$(BIN)/python -m bench.cpu
	$(BIN)/python -m bench.activities
	$(BIN)/python -m bench.fleet
	@echo "long fault-load, overload and fleet suites (five times make test's), then the fuzz suite (ten times: 10,000 documents):"
	ONESTOP_SUITE_SCALE=5 $(BIN)/python -m pytest -q -o timeout=900 tests/test_fault_load.py tests/test_overload.py tests/test_fleet.py
	ONESTOP_SUITE_SCALE=10 $(BIN)/python -m pytest -q -s -o timeout=1800 tests/test_fuzz.py

## lint: ruff and mypy, as CI runs them
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

## mocks: only the mock departments, for testers (http://127.0.0.1:8100/_admin/departments)
mocks: $(STAMP)
	$(BIN)/python -m mocks --port $(MOCKS_PORT)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
