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
# checkov and aws-sam-translator, in their own venv from a hashed lock (infra/aws/scan.py).
SCAN := build/tools/scan/bin/checkov
# The race page's vendored mqtt.js (see its rule below).
PAGE_VENDOR := consumers/api/page/vendor/mqtt.esm.js
export ALLEYCAT_HOME ?= $(CURDIR)/.alleycat

.PHONY: setup run test bench fuzz chaos up down status lint check security typecheck imports lock clean package deploy validate-template

setup: $(VENV)/.installed infra/local/node_modules/.installed $(PAGE_VENDOR) $(JARS)/.installed $(JARS)/hudi/.installed $(SAM) $(SCAN) \
	build/trino/.installed $(JARS)/kafka/.installed

build/.system-deps: infra/local/system-deps.sh
	@infra/local/system-deps.sh
	@mkdir -p build && touch $@

# Python packages come from the hashed lock (`make lock` regenerates it from pyproject.toml); the
# project itself is installed editable on top, without dependencies.
$(VENV)/.installed: pyproject.toml requirements/dev.lock | build/.system-deps
	@echo "== python venv ($(PYTHON)) and packages (requirements/dev.lock)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check --require-hashes -r requirements/dev.lock
	@$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

infra/local/node_modules/.installed: infra/local/package.json infra/local/package-lock.json | build/.system-deps
	@echo "== npm packages (kinesalite)"
	@npm ci --prefix infra/local --no-audit --no-fund --loglevel=error
	@touch $@

# The race page's browser libraries (infra/page/package.json): their ES module builds are copied to
# consumers/api/page/vendor/ (git-ignored), where the page imports them and `make package` takes
# them with the rest of consumers/.
$(PAGE_VENDOR): infra/page/package.json infra/page/package-lock.json | build/.system-deps
	@echo "== page libraries (mqtt.js into consumers/api/page/vendor)"
	@npm ci --prefix infra/page --no-audit --no-fund --loglevel=error
	@mkdir -p $(@D)
	@cp infra/page/node_modules/mqtt/LICENSE.md $(@D)/mqtt.LICENSE.md
	@cp infra/page/node_modules/mqtt/dist/mqtt.esm.js $@

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

# Apache Kafka for `alleycat up --transport kafka` (infra/local/kafka.py): kafka_2.13 and its runtime
# jars (~45 jars, ~43 MB, once into ~/.m2).
$(JARS)/kafka/.installed: infra/local/pom-kafka.xml | build/.system-deps
	@echo "== Maven jars (Apache Kafka broker, KRaft)"
	@rm -rf $(JARS)/kafka
	@$(MVN) -f infra/local/pom-kafka.xml dependency:copy-dependencies \
		-DoutputDirectory=$(CURDIR)/$(JARS)/kafka -DincludeScope=runtime \
		> build/mvn-kafka.log 2>&1 || { cat build/mvn-kafka.log; exit 1; }
	@touch $@

# Trino, the local Athena engine (infra/local/trino.py). The tarball holds hard links, so it is
# extracted whole, then only lib/ and the hive and hudi plugins are kept. Maven shows its download
# progress here (the tarball is ~820 MB; Maven keeps it in ~/.m2, so a re-setup does not fetch again).
build/trino/.installed: infra/local/pom-trino.xml | build/.system-deps
	@echo "== Trino 476 (Maven Central: io.trino:trino-server, ~820 MB once; keeps lib/ + hive, hudi plugins)"
	@rm -rf build/trino build/trino-unpack && mkdir -p build/trino-unpack
	@mvn -f infra/local/pom-trino.xml -Dstyle.color=never dependency:copy -DoutputDirectory=$(CURDIR)/build/trino-unpack
	@test -f build/trino-unpack/trino-server.tar.gz || { echo "Maven did not fetch trino-server"; exit 1; }
	@echo "   unpacking ..."
	@tar xzf build/trino-unpack/trino-server.tar.gz -C build/trino-unpack
	@mkdir -p build/trino/plugin
	@mv build/trino-unpack/trino-server-*/lib build/trino/
	@mv build/trino-unpack/trino-server-*/plugin/hive build/trino-unpack/trino-server-*/plugin/hudi build/trino/plugin/
	@rm -rf build/trino-unpack
	@echo "   build/trino: $$(du -sh build/trino | cut -f1)"
	@touch $@

run: setup
	@$(BIN)/python -m alleycat.demo

up: setup
	@$(BIN)/alleycat up

down:
	@test -x $(BIN)/alleycat && $(BIN)/alleycat down || true

status: setup
	@$(BIN)/alleycat status

test: check security
	@$(BIN)/python -m pytest -q

bench: setup
	@$(BIN)/python -m bench

# Bad input at length: the decoder's properties with 5,000 examples each and schemathesis with every
# check over more than 1,000 API cases (make test runs both smaller).
fuzz: setup
	@ALLEYCAT_FUZZ_EXAMPLES=5000 $(BIN)/python -m pytest -q -s tests/unit/test_decoder_fuzz.py
	@ALLEYCAT_FUZZ_EXAMPLES=100 $(BIN)/python -m pytest -q -s tests/integration/test_api.py -k test_openapi_all_checks

# Three rounds of kill -9 of every component during a race (make test runs one round).
chaos: setup
	@ALLEYCAT_CHAOS_ROUNDS=3 $(BIN)/python -m pytest -q -s tests/integration/test_chaos.py

# The static checks, in `make lint` and first in `make test`: style, format, import contracts, types.
check: setup
	@echo "== ruff"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@echo "== import contracts (lint-imports)"
	@$(BIN)/lint-imports --no-cache
	@echo "== types (mypy)"
	@$(BIN)/mypy

lint: check security

# The scanners, in `make lint` and `make test`: checkov over the template (as written and after the
# SAM transform), bandit over the code, pip-audit over the locks (where its source is reachable).
security: setup
	@echo "== checkov (infra/aws/template.yaml)"
	@$(BIN)/python -m infra.aws.scan
	@echo "== bandit"
	@$(BIN)/bandit -q -c pyproject.toml -r alleycat consumers producers glue_jobs infra bench
	@echo "== pip-audit (requirements/*.lock)"
	@$(BIN)/python -m infra.audit

$(SCAN): requirements/scan.lock
	@echo "== scanners (checkov, aws-sam-translator: build/tools/scan)"
	@test -x build/tools/scan/bin/python || $(PYTHON) -m venv build/tools/scan
	@build/tools/scan/bin/pip install -q --disable-pip-version-check --require-hashes -r requirements/scan.lock
	@touch $@

typecheck: setup
	@$(BIN)/mypy

imports: setup
	@$(BIN)/lint-imports --no-cache

# Regenerate the hashed locks from pyproject.toml (then `make setup` installs from them).
# Extras stay on the pins (cachecontrol[filecache]==...): pip's --require-hashes refuses a package a
# dependency asks for with an extra when the pin names no extra and a newer release exists.
lock:
	@$(BIN)/uv pip compile pyproject.toml --extra local --extra dev --python-version 3.11 \
		--python-platform x86_64-manylinux_2_31 --generate-hashes --no-header --quiet --no-strip-extras \
		-o requirements/dev.lock
	@$(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml","rb"))["project"]["optional-dependencies"]["scan"], sep="\n")' \
		| $(BIN)/uv pip compile - --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--generate-hashes --no-header --quiet --no-strip-extras -o requirements/scan.lock
	@$(LAMBDA_LOCK)

clean: down
	rm -rf build .alleycat $(VENV) infra/local/node_modules infra/page/node_modules consumers/api/page/vendor

# --- AWS (docs/deploy.md). The SAM CLI lives in its own venv: its pins would downgrade the project's.
STACK ?= alleycat
# The Lambda layer's hashed lock (python3.12 arm64, constrained to requirements/dev.lock): `make lock`
# runs it after the dev lock; infra/aws/layer.py says what goes in and for which platform.
LAMBDA_LOCK := $(BIN)/python -m infra.aws.layer

.PHONY: lock-lambda

$(SAM): pyproject.toml
	@echo "== AWS SAM CLI (build/tools/sam)"
	@test -x build/tools/sam/bin/python || $(PYTHON) -m venv build/tools/sam
	@build/tools/sam/bin/pip install -q --disable-pip-version-check \
		"$$($(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml","rb"))["project"]["optional-dependencies"]["deploy"])')"
	@touch $@

lock-lambda:
	@$(LAMBDA_LOCK)

validate-template: setup $(SAM)
	@$(BIN)/python -m infra.aws.template --check
	@SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --template infra/aws/template.yaml
	@SAM_CLI_TELEMETRY=0 $(SAM) validate --region us-east-1 --template infra/aws/template.yaml

package: setup
	@$(BIN)/python -m infra.aws.template --check
	@$(BIN)/python -m infra.aws.package

deploy: package $(SAM)
	@SAM_CLI_TELEMETRY=0 $(BIN)/python -m infra.aws.deploy --stack $(STACK) --sam $(SAM)
