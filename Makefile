# One task runner: CI calls these targets verbatim (.ci/run), the Dockerfile repeats `install`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: venv demo test lint format bench clean

venv: $(VENV)/.installed

# The stamp is rebuilt whenever the project's metadata changes.
$(VENV)/.installed: pyproject.toml scripts/bootstrap.sh
	PYTHON=$(PYTHON) scripts/bootstrap.sh $(VENV) dev
	touch $@

demo: venv
	$(BIN)/bookyflow-worker demo --seconds $${DEMO_SECONDS:-20}

test: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Helper modules (bench/_*.py) are skipped; sync_scale runs last so its figures end the output.
bench: venv
	@$(BIN)/python -c "import httpx, authlib" 2>/dev/null || $(BIN)/pip install -q -e '.[bench]'
	@for script in $$(ls bench/[!_]*.py | grep -v sync_scale) bench/sync_scale.py; do \
		echo "# $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
