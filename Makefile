# Two commands a new user needs: `make demo` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest golden bench clean

$(STAMP): pyproject.toml
	@echo "Installing into $(VENV) (log: $(VENV)/install.log)…"
	$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e '.[dev]'; } \
		> $(VENV)/install.log 2>&1 || { tail -30 $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

# Unsubscribe links are signed with NEWSLETTER_SECRET. The demo brings its own when none is
# set; it is printed in no output and is for the demo only: set your own for real use.
DEMO_ENV := NEWSLETTER_SECRET="$${NEWSLETTER_SECRET:-demo-only-secret-not-for-real-sends-0000}"

## demo: the weekly job on the embedded defaults (SQLite store, outbox transport, no account)
demo: $(STAMP)
	$(BIN)/newsletter validate digests/*.json
	$(BIN)/newsletter render digests/*.json
	$(BIN)/newsletter subscribers sync
	@# dispatch sends only what an editor approved, exactly as approved: the demo approves
	@# the samples as an editor would (`newsletter approvals` lists who approved what).
	$(BIN)/newsletter approve digests/2*.json --by demo
	@echo "$(BIN)/newsletter dispatch"
	@$(DEMO_ENV) $(BIN)/newsletter dispatch
	$(BIN)/newsletter status
	@echo
	@echo "Rendered emails: build/<date>/email.html (open in a browser) and email.txt."
	@echo "Sent messages:   outbox/<date>-weekly/new/*.eml (a Maildir: mutt -f, or open any .eml)."
	@echo "Run 'make demo' again: the issue is already sent, so nothing is sent twice."

## test: lint, type-check and run the whole test suite
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check newsletter tests bench
	$(BIN)/ruff format --check newsletter tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

## golden: regenerate the golden files after an intended change to the output (review the diff!)
golden: $(STAMP)
	UPDATE_GOLDEN=1 $(BIN)/pytest -q -m golden

## bench: run the benchmarks (or some: make bench BENCH=render-speed); figures go to docs/benchmarks.md
# The render benchmark's anchor is the official MJML compiler (npm `mjml`): the one named by
# NEWSLETTER_MJML_BIN, else `mjml` on the PATH, else one that npm installs into .tools/mjml
# the first time the render benchmark runs. Without node it is skipped, with a note.
RENDER_BENCH := $(if $(BENCH),$(filter render-speed,$(BENCH)),render-speed)
HAS_MJML := $(BIN)/python -c 'import sys; from bench.render_speed import node_modules; sys.exit(node_modules() is None)'

bench: $(STAMP)
	@if [ -n "$(RENDER_BENCH)" ] && command -v node >/dev/null && command -v npm >/dev/null \
		&& ! $(HAS_MJML); then \
		echo "Installing the official MJML compiler (npm mjml@4) into .tools/mjml…"; \
		npm install --prefix .tools/mjml mjml@4 --no-audit --no-fund --loglevel=error >/dev/null \
			|| { rm -rf .tools/mjml; echo "npm could not install mjml: the render anchor is skipped"; }; \
	fi
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf build outbox .pytest_cache .mypy_cache .ruff_cache .tools
