# One gate: `make test` runs everything CI runs (lint, types, template checks, tests).
# The tools' Python (SAM CLI, checkov, the model server's tests, the artifact's pip).
PYTHON ?= python3
# Lambda target of the functions (template.yaml: python3.13, arm64).
LAMBDA_PYTHON := 3.13
# Python X.Y: pythonX.Y from PATH, else pyenv's newest X.Y, else its X.Y.0 (pyenv's shim
# answers to the name even when that version is not selected: each is tried).
find_python = $(shell for python in $$(command -v python$(1)) \
	$$(for version in $(1) $(1).0; do pyenv prefix $$version 2>/dev/null; \
	done | sed 's|$$|/bin/python$(1)|'); \
	do "$$python" -V >/dev/null 2>&1 && echo "$$python" && break; done)
# .venv, where the suite and `make dev` run, is made with the functions' own Python.
FUNCTIONS_PYTHON ?= $(call find_python,$(LAMBDA_PYTHON))
# The oldest Python the `imagegate` command supports (pyproject.toml's requires-python): its
# own tests run there too (make cli-test), in a venv of their own.
CLI_OLDEST := $(shell sed -n 's/^requires-python = ">=\([0-9.]*\)"$$/\1/p' pyproject.toml)
$(if $(CLI_OLDEST),,$(error no requires-python = ">=X.Y" in pyproject.toml))
CLI_PYTHON ?= $(call find_python,$(CLI_OLDEST))
CLI_VENV := .venv-cli$(CLI_OLDEST)
CLI_VENV_STAMP := $(CLI_VENV)/.installed
VENV := .venv
VENV_PYTHON := $(VENV)/.python$(LAMBDA_PYTHON)
BIN := $(VENV)/bin
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
CHECKOV_VENV := .tools/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_VERSION := 3.3.30
CLI_STAMP := $(VENV)/.installed-cli
DEV_STAMP := $(VENV)/.installed-dev
# The SageMaker model server's tests need torch and diffusers: a venv of their own, so none
# of it reaches the API's environment.
MODEL_VENV := .venv-model
MODEL_STAMP := $(MODEL_VENV)/.installed
# The OpenAI JavaScript SDK for the e2e tests, where Node.js is installed (nothing otherwise).
JS_DIR := tests/e2e/js
JS_STAMP := $(if $(shell command -v npm),$(JS_DIR)/node_modules/.package-lock.json)
# Headless Chromium for the console's browser tests: Debian's package, where apt-get is (as
# root) and no Chromium is on PATH. Elsewhere, install Chromium and set IMAGEGATE_CHROMIUM.
CHROMIUM := $(if $(IMAGEGATE_CHROMIUM)$(shell command -v chromium),,$(if $(shell command -v apt-get),/usr/bin/chromium))
HOST ?= 127.0.0.1
PORT ?= 8000
# The model catalog shipped in the Lambda artifact: `CATALOG=my-catalog.json make build`.
CATALOG ?= infra/catalog.json
# python3.13 runs on Amazon Linux 2023 (glibc 2.34). pip takes --platform literally, so every
# manylinux tag that fits is named.
LAMBDA_PLATFORMS := --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64

export SAM_CLI_TELEMETRY := 0

.PHONY: dev test lint typecheck template pytest cli-test model-server-test openapi build deploy artifact-check lock clean

dev: $(CLI_STAMP)  ## Serve the API locally (moto + preview backend); no AWS account needed.
	$(BIN)/imagegate dev --host $(HOST) --port $(PORT)

test: lint typecheck template pytest cli-test model-server-test  ## The whole suite, as CI runs it.

lint: $(DEV_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

# The templates as written, with AWS's serverless rules; as CloudFormation gets them after the
# SAM transform (cfn-lint alone does not transform); checkov's policies; SAM's own validation.
# Every remaining finding is suppressed in the template, with its reason.
template: $(DEV_STAMP) $(SAM) $(CHECKOV)
	$(BIN)/cfn-lint template.yaml infra/sagemaker/endpoint.yaml --append-rules cfn_lint_serverless.rules
	$(SAM_VENV)/bin/python tests/sam_translate.py template.yaml build/template.json
	$(BIN)/cfn-lint build/template.json
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation \
		-f template.yaml -f infra/sagemaker/endpoint.yaml
	$(SAM) validate --lint --region us-east-1

# Three workers, whatever the machine: no test depends on the count (each makes its own moto,
# stack and ports). Much of the suite waits (queues' visibility timeouts, stacks starting), so
# on two cores a third worker runs while another waits; worksteal hands an idle worker the
# tests still queued on a busy one, so no long test is left to run alone at the end.
pytest: $(DEV_STAMP) $(JS_STAMP) $(CHROMIUM)
	$(BIN)/pytest -n 3 --dist worksteal

# The `imagegate` command on the oldest Python it supports, installed as a user installs it
# (the cli extra, none of the dev tools), with pytest: its commands against a local stack
# (keys, top-ups, batches, a stack that stops, restarts or died), the stack's gateway and
# runtime. The local stack runs the functions' code in process, so this also holds that code
# to the oldest Python's syntax and library; the rest of the suite runs once, on the
# functions' Python.
CLI_TESTS := tests/integration/test_cli_keys.py tests/e2e/test_batch_cli.py \
	tests/e2e/test_local_stack_lifecycle.py tests/unit/test_local_stack.py tests/unit/test_gateway.py
cli-test: $(CLI_VENV_STAMP)
	$(CLI_VENV)/bin/python -m pytest -p no:cacheprovider -q $(CLI_TESTS)

model-server-test: $(MODEL_STAMP)
	cd infra/sagemaker && ../../$(MODEL_VENV)/bin/python -m pytest -p no:cacheprovider tests

openapi: $(DEV_STAMP)  ## Rewrite the checked-in OpenAPI document after an API change.
	$(BIN)/python -m handler.cli.openapi > handler/api/openapi.json

build: $(SAM)  ## sam build, without Docker.
	$(SAM) build  # samconfig.toml: build_in_source, so no Docker and no copy of .venv

# No question asked, so none can abort on Enter (sam deploy --guided would): the stack's
# settings are samconfig.toml's and the template's defaults. What is given once on the
# command line is saved there for the next deploys:
#   make deploy REGION=us-west-2 PARAMETERS="AlarmEmail=ops@example.com"
# `imagegate preflight` first stops it before sam deploy makes anything that would fail;
# after it, the API function's versions no alias serves are deleted (their SnapStart
# snapshots are billed while cached).
STACK ?= imagegate
REGION ?=
PARAMETERS ?=
DEPLOY_FLAGS ?=
SAVED := $(if $(REGION)$(PARAMETERS),--save-params)
deploy: build $(CLI_STAMP)  ## Build once, check the account, deploy the stack (sam deploy), no questions.
	$(BIN)/imagegate preflight --catalog $(CATALOG) $(if $(REGION),--region $(REGION)) \
		$(if $(PARAMETERS),--parameters "$(PARAMETERS)")
	$(SAM) deploy --stack-name $(STACK) $(if $(REGION),--region $(REGION)) \
		$(if $(PARAMETERS),--parameter-overrides $(PARAMETERS)) $(SAVED) $(DEPLOY_FLAGS)
	$(BIN)/imagegate prune-versions --stack $(STACK) $(if $(REGION),--region $(REGION))

artifact-check: build $(DEV_STAMP)  ## Build, then check what ships to Lambda.
	$(BIN)/python tests/artifact_check.py .aws-sam/build

# Bytecode is compiled by Lambda's own Python where this machine has one (/var/task is
# read-only, so Lambda would otherwise compile every module at every cold start).
LAMBDA_PY := $(FUNCTIONS_PYTHON)

# An artifact per function (build/functions/<Function>), each of what that function runs: the
# distributions its code imports (pyproject.toml's [tool.imagegate.functions]) with what they
# depend on, the package but its CLI, the catalog; of botocore's data, the services the code
# calls, their models without documentation (handler/cli/artifacts.py). Built whenever what
# ships changed, then hard-linked into the function's ARTIFACTS_DIR by the build-<Function>
# target `sam build` (BuildMethod: makefile) calls: links take no disk, and nothing writes to
# them; where they cannot be made (another file system), it is copied.
ARTIFACTS := build/functions
FUNCTIONS := $(shell $(PYTHON) -m handler.cli.artifacts functions)
STREAMING := StreamFunction
SHIPPED := $(shell find handler -name '*.py' -not -path 'handler/cli/*') $(shell find handler/console -type f) \
	handler/cli/artifacts.py pyproject.toml constraints.txt Makefile

$(ARTIFACTS)/%/.built: $(SHIPPED)
	rm -rf "$(ARTIFACTS)/$*" && mkdir -p "$(ARTIFACTS)/$*"
	$(PYTHON) -m pip install --quiet --target "$(ARTIFACTS)/$*" \
		$(LAMBDA_PLATFORMS) --implementation cp --python-version $(LAMBDA_PYTHON) \
		--only-binary=:all: --no-compile --constraint constraints.txt \
		$$($(PYTHON) -m handler.cli.artifacts requirements $*)
	rm -rf "$(ARTIFACTS)/$*/bin"
	$(PYTHON) -m handler.cli.artifacts code "$(ARTIFACTS)/$*" $(if $(filter $*,$(STREAMING)),--streams)
	$(PYTHON) -m handler.cli.artifacts trim-botocore "$(ARTIFACTS)/$*"
	# c2pa-python's wheel carries its Rust static library beside the shared one it loads: 30 MB
	# no function reads.
	rm -f "$(ARTIFACTS)/$*/c2pa/libs/libc2pa_c.rlib"
	@if [ -n "$(LAMBDA_PY)" ]; then \
		$(LAMBDA_PY) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS)/$*" >/dev/null \
			|| echo "$*: some files did not compile (they stay source)"; \
		echo "$*: bytecode compiled by $$($(LAMBDA_PY) -V)"; \
	else \
		echo "$*: no python$(LAMBDA_PYTHON) on this machine: source only, compiled by Lambda at each cold start"; \
	fi
	touch $@

$(addprefix build-,$(FUNCTIONS)): build-%: $(ARTIFACTS)/%/.built
	cp -R -l $(ARTIFACTS)/$*/. "$(ARTIFACTS_DIR)" 2>/dev/null || cp -R $(ARTIFACTS)/$*/. "$(ARTIFACTS_DIR)"
	rm -f "$(ARTIFACTS_DIR)/.built"
	cp "$(CATALOG)" "$(ARTIFACTS_DIR)/catalog.json"

# A .venv of another Python (a clone from before) is made again.
$(VENV_PYTHON):
	@test -n "$(FUNCTIONS_PYTHON)" || { echo "make: the tests and the local stack run on Python \
	$(LAMBDA_PYTHON), the functions' runtime (template.yaml), and this machine has none: \
	install it (pyenv install $(LAMBDA_PYTHON).0, or put python$(LAMBDA_PYTHON) on PATH), \
	or name one: make FUNCTIONS_PYTHON=/path/to/python$(LAMBDA_PYTHON) ..." >&2; exit 1; }
	@$(FUNCTIONS_PYTHON) -c 'import sys; version = "%d.%d" % sys.version_info[:2]; \
		sys.exit(version != "$(LAMBDA_PYTHON)" and f"make: $(FUNCTIONS_PYTHON) is Python {version}")'
	rm -rf $(VENV) && $(FUNCTIONS_PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

$(CLI_STAMP): pyproject.toml constraints.txt $(VENV_PYTHON)
	$(BIN)/pip install --quiet --constraint constraints.txt -e '.[cli]'
	touch $@

$(DEV_STAMP): pyproject.toml constraints.txt $(VENV_PYTHON)
	$(BIN)/pip install --quiet --constraint constraints.txt -e '.[dev]'
	touch $@ $(CLI_STAMP)

$(CLI_VENV_STAMP): pyproject.toml constraints.txt
	@test -n "$(CLI_PYTHON)" || { echo "make: the imagegate command is tested on Python \
	$(CLI_OLDEST), the oldest it supports (pyproject.toml), and this machine has none: install \
	it (pyenv install $(CLI_OLDEST), or put python$(CLI_OLDEST) on PATH)" >&2; exit 1; }
	rm -rf $(CLI_VENV) && $(CLI_PYTHON) -m venv $(CLI_VENV)
	$(CLI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CLI_VENV)/bin/pip install --quiet --constraint constraints.txt -e '.[cli]' pytest httpx2
	touch $@

# Resolved on the functions' Python, as the artifact is built for it.
lock: $(VENV_PYTHON)  ## Re-resolve every dependency to its newest allowed version into constraints.txt.
	rm -rf build/lock && $(FUNCTIONS_PYTHON) -m venv build/lock
	build/lock/bin/pip install --quiet -e '.[dev]'
	(echo "# Exact versions the tests and the Lambda artifact use. Refresh with \`make lock\`."; \
	 build/lock/bin/pip freeze --exclude-editable | grep -v '^-e') > constraints.txt
	rm -rf build/lock

$(MODEL_STAMP): infra/sagemaker/requirements-test.txt infra/sagemaker/code/requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(MODEL_VENV)
	$(MODEL_VENV)/bin/python -m pip install --quiet --upgrade pip
	cd infra/sagemaker && ../../$(MODEL_VENV)/bin/pip install --quiet --constraint ../../constraints.txt \
		-e ../.. -r requirements-test.txt
	touch $@

$(JS_DIR)/node_modules/.package-lock.json: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	npm ci --prefix $(JS_DIR) --no-audit --no-fund --loglevel=error

/usr/bin/chromium:
	apt-get install -y -qq --no-install-recommends chromium >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null)

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)

# Its own venv: its dependency tree would not fit the API's pins.
$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)

clean:
	rm -rf $(VENV) $(CLI_VENV) $(MODEL_VENV) .tools .aws-sam build .mypy_cache .ruff_cache .pytest_cache \
		$(JS_DIR)/node_modules
