# make demo: the whole pipeline on a local stand-in for AWS.  make test: the test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# uv installs from its cache in seconds where pip takes tens (both from PyPI); the host's certificates, as pip's.
UV := $(VENV)/bin/uv
# --compile-bytecode: this machine sets PYTHONDONTWRITEBYTECODE=1, so without it every manage.py process of the
# suite compiles Django and boto3 again (about 1 s of CPU each).
UV_INSTALL := $(UV) pip install -q --system-certs --compile-bytecode

.PHONY: demo demo-down test lint docs screenshots venv up down bench lock matrix

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q 'uv==0.13.9'
	$(UV_INSTALL) --python $(PY) -r requirements.txt -e '.[deploy,dev]'
	@touch $@

up: venv
	scripts/local-aws up

down:
	scripts/local-aws down

# checkov in a virtualenv of its own: it pins versions of packages that the tools above need newer.
CHECKOV_VENV := .checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

$(CHECKOV): | $(STAMP)
	@test -x $(CHECKOV_VENV)/bin/python || $(UV) venv -q --python $(PYTHON) $(CHECKOV_VENV)
	$(UV_INSTALL) --python $(CHECKOV_VENV)/bin/python 'checkov==3.3.30'

# The import contracts (pyproject.toml), the documentation site (mkdocs.yml: a broken link or anchor, a page out of
# the navigation, a flag or setting without its text stop it), and checkov over the Terraform and the shipped Dockerfiles: each deliberate
# exception is an inline checkov:skip with its reason (bench/course.Dockerfile is the course's, kept as taught).
lint: venv $(CHECKOV)
	$(VENV)/bin/lint-imports
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --quiet --strict
	$(CHECKOV) --skip-download --quiet --compact --framework terraform -d infra
	$(CHECKOV) --skip-download --quiet --compact --framework dockerfile -f Dockerfile -f ecr_deploy/image/project_template/Dockerfile

# The lint above, then the suite, its groups handed out in the order tests/conftest.py sorts them (the serial tests
# first: xdist's default reorder, largest group first, could give every worker a group that waits on them). Six
# workers: the long chains (six) spend minutes waiting on the provider's fixed delays, and the other workers keep both
# CPUs busy meanwhile. Each terraform run decodes the AWS provider's large
# schema: with GOGC=off and GOMEMLIMIT=1GiB its garbage is collected only near 1 GiB (13 % less CPU than GOGC=400,
# about 650 MB at most in a run). The 15 slowest are listed.
# Then noxfile.py's oldest and newest Django run the tests that need no engine (their log: .nox/matrix.log). Not
# beside the suite: their CPU slowed moto's answers past the provider's patience in a run on two cores.
test: up lint
	GOGC=off GOMEMLIMIT=1GiB $(PY) -m pytest -n 6 --dist loadgroup --no-loadscope-reorder --durations=15
	@mkdir -p .nox; if PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/nox -s oldest newest >.nox/matrix.log 2>&1; \
	then grep -E '^nox > (Ran|\*)' .nox/matrix.log; else cat .nox/matrix.log; exit 1; fi

# Every supported Django (noxfile.py): the tests that need no engine on each, and a new project served.
matrix: up
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/nox

# The documentation site on http://127.0.0.1:8001, rebuilt as its pages change.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8001

# The documentation's pictures, as the last `make test` (the browser test, status_ecs's) and `make demo` made them.
screenshots:
	cp .artifacts/screenshots/test_the_list_page_is_styled_and_loads_without_errors.png docs/images/browsable-api.png
	cp .artifacts/screenshots/status_ecs.svg .artifacts/screenshots/demo-end.svg docs/images/

demo: up
	scripts/demo

# What make demo made on the local AWS (service, database, repository), taken down by destroy_ecs.
demo-down: up
	scripts/demo --destroy

# requirements.lock from requirements.txt, resolved inside the base image (its Python and platform), with hashes;
# pip-tools in a virtualenv of its own (the local base image's pip is Debian's, which pip cannot upgrade).
lock: up
	docker run --rm -v "$(CURDIR):/src" -w /src python:3.13-slim sh -c \
		"python -m venv /tmp/lock && /tmp/lock/bin/pip install -q pip-tools && /tmp/lock/bin/pip-compile -q --generate-hashes --strip-extras --no-header --allow-unsafe -o requirements.lock requirements.txt"
