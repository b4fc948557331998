# One task runner: CI calls these targets verbatim (.ci/run), the Dockerfile runs the same
# scripts/bootstrap.sh as `venv` (without the dev extra).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: venv demo test live soak lint format bench bench-scale clean lock audit image container-test

venv: $(VENV)/.installed

# The stamp is rebuilt whenever the project's metadata changes.
$(VENV)/.installed: pyproject.toml scripts/bootstrap.sh requirements.lock
	PYTHON=$(PYTHON) scripts/bootstrap.sh $(VENV) dev
	touch $@

demo: venv
	$(BIN)/bookyflow-worker demo --seconds $${DEMO_SECONDS:-20}

test: venv
	$(BIN)/python -m pytest -q

# Live contract suite (tests/live) against a real engine: BOOKYFLOW_LIVE_URL, _CLIENT_ID and
# _CLIENT_SECRET (README, "Against the real engine"); skipped with one line when they are unset.
live: venv
	$(BIN)/python -m pytest -q -m live tests/live

# Chaos soak, short mode (tests/chaos/soak.py): a modern run, then a legacy run, 30 s of chaos plus settling each (~70 s);
# then the many-sites run (tests/chaos/many_sites.py): one supervisor, five sites (calm, steady,
# revoked, down, garbage), 30 s of chaos plus settling (~70 s).
# SOAK_S sets each run's chaos length (SOAK_S=3600 for the long soak).
soak: venv
	SOAK_S=$${SOAK_S:-30} $(BIN)/python -m tests.chaos.soak
	SOAK_S=$${SOAK_S:-30} SOAK_LEGACY=1 $(BIN)/python -m tests.chaos.soak
	SOAK_S=$${SOAK_S:-30} $(BIN)/python -m tests.chaos.many_sites

# The container image (README, "Container image"): podman when installed, from a Debian base made
# locally (scripts/make-base.sh, cached), else docker. IMAGE=registry/bookyflow-worker:1.2.3 names it.
VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' pyproject.toml)
IMAGE   ?= bookyflow-worker:$(VERSION)
image:
	IMAGE=$(IMAGE) scripts/build-image.sh

# The image run as an operator runs it (read-only root, no /tmp, uid 10001): scripts/container-test.sh.
container-test: image
	IMAGE=$(IMAGE) scripts/container-test.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Helper modules (bench/_*.py) are skipped; sync_scale runs last so its figures end the output.
# The long many-sites bench has its own target (bench-scale).
bench: venv
	@$(BIN)/python -c "import httpx, authlib" 2>/dev/null || $(BIN)/pip install -q -e '.[bench]'
	@for script in $$(ls bench/[!_]*.py | grep -v -e sync_scale -e '/scale.py') bench/sync_scale.py; do \
		echo "# $$script"; $(BIN)/python $$script || exit 1; done

# 10, 100 and 1,000 sites in one worker process, then 3 shards over 300 sites (bench/scale.py,
# docs/performance.md); name=value lines. BENCH_SIZES, BENCH_SCALE_FACTOR, BENCH_KEEP: the docstring.
bench-scale: venv
	$(BIN)/python bench/scale.py

# Re-pin every runtime, dev and audit dependency from a clean venv (CPython 3.11 on Linux).
lock:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install --quiet --upgrade pip "setuptools>=77" wheel; \
	"$$tmp/venv/bin/pip" install --quiet ".[dev,audit]"; \
	{ echo "# Pinned runtime + dev + audit dependencies of bookyflow-worker, for CPython 3.11 on Linux."; \
	  echo "# Used as --constraint by scripts/bootstrap.sh (make venv, the Dockerfile) and audited by"; \
	  echo "# \`make audit\`. Regenerate with \`make lock\` after changing dependencies in pyproject.toml."; \
	  "$$tmp/venv/bin/pip" freeze --all --exclude bookyflow-worker; } > requirements.lock
	@echo "requirements.lock: $$(grep -vc '^#' requirements.lock) pins"

# Known vulnerabilities of every pin in the lock (pip-audit in its own venv). Needs PyPI's JSON API
# (its vulnerability data) for every pinned version, so it is not part of the CI gate (.ci/run);
# --strict fails when a pin cannot be audited instead of passing it silently. docs/security.md.
AUDIT_VENV := $(VENV)/audit
audit:
	test -x $(AUDIT_VENV)/bin/pip-audit || PYTHON=$(PYTHON) scripts/bootstrap.sh $(AUDIT_VENV) audit
	$(AUDIT_VENV)/bin/pip-audit --strict --requirement requirements.lock --no-deps --disable-pip \
		--vulnerability-service pypi --progress-spinner off

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
