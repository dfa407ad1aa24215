# Two commands for a newcomer: `make demo` runs the tool with its sandbox platform,
# `make test` runs the test suite (SQLite always, PostgreSQL when its server programs exist).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
DEMO_ENV := LTI_TOOL_SANDBOX=1 LTI_TOOL_BASE_URL=http://$(HOST):$(PORT) LTI_TOOL_TRUSTED_PROXIES=0

.PHONY: install demo test lint validate clean-demo bench bench-postgres

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(DEMO_ENV) $(BIN)/lti-tool keys generate --if-missing
	$(DEMO_ENV) $(BIN)/lti-tool db upgrade
	$(DEMO_ENV) $(BIN)/lti-tool sandbox setup
	@echo
	@echo "  The tool is starting. Open http://$(HOST):$(PORT)/sandbox/ and launch as a student, lecturer"
	@echo "  or administrator (an LTI launch with the VLE's admin role)."
	@echo "  The admin console is http://$(HOST):$(PORT)/admin/ : first make an account with"
	@echo "  $(BIN)/lti-tool admin create-user you@example.ac.uk   (other commands: $(BIN)/lti-tool --help)"
	@echo "  Grades go to the sandbox gradebook through the grade worker, started beside the server."
	@echo "  Stop both with Ctrl+C."
	@echo
	$(DEMO_ENV) $(BIN)/lti-tool grades work & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(DEMO_ENV) $(BIN)/lti-tool run --host $(HOST) --port $(PORT) --with-threads

test: install
	$(BIN)/pytest -n auto

# Speed, measured against baselines run in the same process or run (README, "Speed").
bench: install
	$(BIN)/python benchmarks/launch.py
	$(BIN)/python benchmarks/classview.py
	$(BIN)/python benchmarks/grades_delivery.py

# The same on a throwaway PostgreSQL cluster (the server binaries the tests use).
bench-postgres: install
	$(BIN)/python benchmarks/launch.py --postgres
	$(BIN)/python benchmarks/classview.py --postgres
	$(BIN)/python benchmarks/grades_delivery.py --postgres

lint: install
	$(BIN)/ruff check lti_tool tests deploy benchmarks
	$(BIN)/mypy  # [tool.mypy] in pyproject.toml: the whole package, --strict

validate: install
	$(BIN)/lti-tool content validate

clean-demo:
	rm -rf instance
