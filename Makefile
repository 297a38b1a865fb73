# Alleycat: `make run` (the demo on the local stack) and `make test` do all their own set-up.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
JARS := build/jars
# Maven prints its output only when it fails.
MVN := mvn -q -B
# The AWS SAM CLI, in its own venv (see the AWS section below).
SAM := build/tools/sam/bin/sam
export ALLEYCAT_HOME ?= $(CURDIR)/.alleycat

.PHONY: setup run test bench up down status lint clean package deploy validate-template

setup: $(VENV)/.installed infra/local/node_modules/.installed $(JARS)/.installed $(JARS)/hudi/.installed $(SAM)

build/.system-deps: infra/local/system-deps.sh
	@infra/local/system-deps.sh
	@mkdir -p build && touch $@

$(VENV)/.installed: pyproject.toml | build/.system-deps
	@echo "== python venv ($(PYTHON)) and packages"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[local,dev]'
	@touch $@

infra/local/node_modules/.installed: infra/local/package.json infra/local/package-lock.json | build/.system-deps
	@echo "== npm packages (kinesalite)"
	@npm ci --prefix infra/local --no-audit --no-fund --loglevel=error
	@touch $@

$(JARS)/.installed: infra/local/pom.xml | build/.system-deps
	@echo "== Maven jars (DynamoDB Local)"
	@$(MVN) -f infra/local/pom.xml dependency:copy-dependencies \
		-DoutputDirectory=$(CURDIR)/$(JARS)/dynamodb -Dmdep.stripVersion=true -DincludeScope=runtime \
		> build/mvn.log 2>&1 || { cat build/mvn.log; exit 1; }
	@touch $@

$(JARS)/hudi/.installed: infra/local/pom-hudi.xml | build/.system-deps
	@echo "== Maven jars (Hudi Spark bundle for the Glue job)"
	@$(MVN) -f infra/local/pom-hudi.xml dependency:copy-dependencies \
		-DoutputDirectory=$(CURDIR)/$(JARS)/hudi -DexcludeTransitive=true -DincludeScope=runtime \
		> build/mvn.log 2>&1 || { cat build/mvn.log; exit 1; }
	@touch $@

run: setup
	@$(BIN)/python -m alleycat.demo

up: setup
	@$(BIN)/alleycat up

down:
	@test -x $(BIN)/alleycat && $(BIN)/alleycat down || true

status: setup
	@$(BIN)/alleycat status

test: setup
	@$(BIN)/ruff check .
	@$(BIN)/python -m pytest -q

bench: setup
	@$(BIN)/python -m bench

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

clean: down
	rm -rf build .alleycat $(VENV) infra/local/node_modules

# --- AWS (docs/deploy.md). The SAM CLI lives in its own venv: its pins would downgrade the project's.
STACK ?= alleycat

$(SAM): pyproject.toml
	@echo "== AWS SAM CLI (build/tools/sam)"
	@test -x build/tools/sam/bin/python || $(PYTHON) -m venv build/tools/sam
	@build/tools/sam/bin/pip install -q --disable-pip-version-check \
		"$$($(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml","rb"))["project"]["optional-dependencies"]["deploy"])')"
	@touch $@

validate-template: setup $(SAM)
	@$(BIN)/python -m infra.aws.build_template --check
	@SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --template infra/aws/template.yaml
	@SAM_CLI_TELEMETRY=0 $(SAM) validate --region us-east-1 --template infra/aws/template.yaml

package: setup
	@$(BIN)/python -m infra.aws.build_template --check
	@$(BIN)/python -m infra.aws.package

deploy: package $(SAM)
	@SAM_CLI_TELEMETRY=0 $(BIN)/python -m infra.aws.deploy --stack $(STACK) --sam $(SAM)
