"""Every third-party package the project imports is declared in pyproject.toml and pinned, with
hashes, in the lock that `make setup` installs from."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from infra.aws import layer

REPO = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"alleycat", "producers", "consumers", "glue_jobs", "infra", "bench", "tests"}
CODE_DIRS = sorted(FIRST_PARTY)
# Provided by the runtime that runs the code, not installable from PyPI: AWS Glue's own library
# (the Glue job imports it only when it runs on Glue).
RUNTIME_PROVIDED = {"awsglue"}
# Imported by a script that runs in a tool venv, not the project's (infra/aws/sam_offline.py, in
# build/tools/scan): module -> its distribution, which must be declared (the scan extra).
TOOL_VENV = {"samtranslator": "aws-sam-translator"}


def declared() -> set[str]:
    """Declared distribution names; ``boto3-stubs[kinesis,...]`` declares ``mypy-boto3-kinesis``, ..."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    names = {layer.requirement_name(r) for r in reqs}
    for req in reqs:
        if layer.requirement_name(req) == "boto3-stubs" and (extras := re.search(r"\[(.*?)\]", req)):
            names |= {f"mypy-boto3-{service.strip()}" for service in extras.group(1).split(",")}
    return names


def imported_top_levels() -> dict[str, set[str]]:
    """Top-level module name -> files importing it, over every first-party Python file."""
    found: dict[str, set[str]] = {}
    for folder in CODE_DIRS:
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(REPO)))
    return found


def test_every_imported_package_is_declared() -> None:
    distributions = importlib.metadata.packages_distributions()
    names = declared()
    undeclared = {}
    for module, files in imported_top_levels().items():
        if module in sys.stdlib_module_names or module in FIRST_PARTY | RUNTIME_PROVIDED or module == "__future__":
            continue
        if module in TOOL_VENV:
            if TOOL_VENV[module] not in names:
                undeclared[module] = files
            continue
        dists = {layer.normalise(d) for d in distributions.get(module, [])}
        if not dists:
            undeclared[module] = files  # imported but not installed at all
        elif not dists & names:
            undeclared[module] = files
    assert undeclared == {}, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_lock_pins_every_declared_package_with_hashes() -> None:
    lock = (REPO / "requirements" / "dev.lock").read_text()
    pinned = set(layer.pinned(lock))  # names normalised; a pin may carry extras (name[extra]==version)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {layer.requirement_name(r) for r in project["dependencies"]} | {
        layer.requirement_name(r) for extra in ("local", "dev") for r in project["optional-dependencies"][extra]
    }
    assert wanted - {"alleycat"} <= pinned
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.strip())
    unhashed = [e.split("==")[0] for e in entries if "==" in e and "--hash=sha256:" not in e]
    assert unhashed == []
