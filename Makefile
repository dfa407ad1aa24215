# Two commands for a newcomer: `make demo` runs the tool with its sandbox platform,
# `make test` runs the test suite (SQLite always, PostgreSQL when its server programs exist).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
DEMO_ENV := LTI_TOOL_SANDBOX=1 LTI_TOOL_BASE_URL=http://$(HOST):$(PORT) LTI_TOOL_TRUSTED_PROXIES=0

.PHONY: install demo test validate clean-demo

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(DEMO_ENV) $(BIN)/lti-tool keys generate --if-missing
	$(DEMO_ENV) $(BIN)/lti-tool db upgrade
	$(DEMO_ENV) $(BIN)/lti-tool sandbox setup
	@echo
	@echo "  The tool is starting. Open http://$(HOST):$(PORT)/sandbox/ and launch as a student or lecturer."
	@echo "  Stop it with Ctrl+C."
	@echo
	$(DEMO_ENV) $(BIN)/lti-tool run --host $(HOST) --port $(PORT) --with-threads

test: install
	$(BIN)/pytest -n auto

validate: install
	$(BIN)/lti-tool content validate

clean-demo:
	rm -rf instance
