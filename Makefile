# make demo: the whole pipeline on a local stand-in for AWS.  make test: the test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-down test venv up down bench lock

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -e '.[deploy,dev]'
	@touch $@

up: venv
	scripts/local-aws up

down:
	scripts/local-aws down

# The import contracts (pyproject.toml), then the suite. Three workers (tests wait on the engine, terraform and moto more than on the CPU); the 15 slowest are listed.
test: up
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n 3 --dist loadgroup --durations=15

demo: up
	scripts/demo

# What make demo made on the local AWS (service, database, repository), taken down by destroy_ecs.
demo-down: up
	scripts/demo --destroy

# requirements.lock from requirements.txt, resolved inside the base image (its Python and platform), with hashes.
lock: up
	docker run --rm -v "$(CURDIR):/src" -w /src python:3.13-slim sh -c \
		"pip install -q --root-user-action=ignore pip-tools && pip-compile -q --generate-hashes --strip-extras --no-header --allow-unsafe -o requirements.lock requirements.txt"
