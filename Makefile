# Alleycat: `make run` (the demo on the local stack) and `make test` do all their own set-up.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
JARS := build/jars
export ALLEYCAT_HOME ?= $(CURDIR)/.alleycat

.PHONY: setup run test bench up down status lint clean

setup: $(VENV)/.installed infra/local/node_modules/.installed $(JARS)/.installed $(JARS)/hudi/.installed

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
	@mvn -q -B -Dstyle.color=never -f infra/local/pom.xml dependency:copy-dependencies \
		-DoutputDirectory=$(CURDIR)/$(JARS)/dynamodb -Dmdep.stripVersion=true -DincludeScope=runtime
	@touch $@

$(JARS)/hudi/.installed: infra/local/pom-hudi.xml | build/.system-deps
	@echo "== Maven jars (Hudi Spark bundle for the Glue job)"
	@mvn -q -B -Dstyle.color=never -f infra/local/pom-hudi.xml dependency:copy-dependencies \
		-DoutputDirectory=$(CURDIR)/$(JARS)/hudi -DexcludeTransitive=true -DincludeScope=runtime
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
