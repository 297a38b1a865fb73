"""The Lambda dependency layer: which packages, for which platform, locked how, installed how.

The packages the handlers import (``LAMBDA_PACKAGES``), with pyproject.toml's specifiers, are
compiled by uv into requirements/lambda.lock: every distribution pinned with its hashes, for the
functions' runtime (the template's python3.12 on arm64) and constrained to requirements/dev.lock,
so the layer runs the versions the tests ran. `make package` installs exactly that lock, wheels
only, with ``--require-hashes``.

    python -m infra.aws.layer    # regenerate requirements/lambda.lock (part of `make lock`)
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from infra.aws.errors import PackageError
from infra.aws.template.functions import ARCHITECTURE, RUNTIME

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = REPO / "pyproject.toml"
LOCK = REPO / "requirements" / "lambda.lock"
DEV_LOCK = REPO / "requirements" / "dev.lock"
# The handlers' third-party imports, by import name (each is also its distribution's normalised
# name). What they bring (botocore, pydantic, starlette, aws-xray-sdk through the [tracer] extra)
# is resolved into the lock. boto3 is bundled too, so the code runs against the SDK it was tested
# with rather than the runtime's; rich (the CLI's) is left out.
LAMBDA_PACKAGES = ("boto3", "pyarrow", "aws_lambda_powertools", "fastapi", "mangum", "msgspec")
PYTHON_VERSION = RUNTIME.removeprefix("python")
MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}[ARCHITECTURE]
# python3.12 runs on Amazon Linux 2023, glibc 2.34. (With manylinux2014 alone, glibc 2.17, pyarrow
# stops at 20: its newer aarch64 wheels are manylinux_2_28.)
GLIBC_MINOR = 34
LOCK_COMMAND = "make lock"


def normalise(name: str) -> str:
    """PEP 503: aws_lambda_powertools, AWS-Lambda-Powertools -> aws-lambda-powertools."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalise(re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0])


def requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """pyproject's requirement strings for LAMBDA_PACKAGES (dependencies first, then the extras)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    candidates = list(project["dependencies"]) + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    found: dict[str, str] = {}
    for req in candidates:
        found.setdefault(requirement_name(req), req)
    wanted = [normalise(p) for p in LAMBDA_PACKAGES]
    missing = [p for p in wanted if p not in found]
    if missing:
        raise PackageError(f"{missing} not declared in {pyproject.name}")
    return [found[p] for p in wanted]


def uv_platform() -> str:
    return f"{MACHINE}-manylinux_2_{GLIBC_MINOR}"


def pip_platforms() -> list[str]:
    """pip matches --platform tags exactly: every manylinux tag the runtime's glibc accepts."""
    return [f"manylinux2014_{MACHINE}", *(f"manylinux_2_{minor}_{MACHINE}" for minor in range(17, GLIBC_MINOR + 1))]


def lock_command(uv: Path, lock: Path = LOCK, constraints: Path = DEV_LOCK) -> list[str]:
    """uv reads the requirements on stdin (``requirements()``, one a line)."""
    # fmt: off
    return [
        str(uv), "pip", "compile", "-", "--quiet", "--generate-hashes",
        "--python-version", PYTHON_VERSION, "--python-platform", uv_platform(),
        "--constraint", str(constraints), "--custom-compile-command", LOCK_COMMAND, "--output-file", str(lock),
    ]
    # fmt: on


def install_command(target: Path, lock: Path = LOCK) -> list[str]:
    platforms = [arg for p in pip_platforms() for arg in ("--platform", p)]
    # fmt: off
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--require-hashes", "--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION,
        *platforms, "--target", str(target), "-r", str(lock),
    ]
    # fmt: on


def pinned(lock_text: str) -> dict[str, str]:
    """``name==version`` lines of a lock (pip-compile format, ``name[extra,...]==version`` too):
    normalised name -> version."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", lock_text, re.M)
    return {normalise(name): version for name, version in pins}


def check_lock(lock: Path = LOCK, dev_lock: Path = DEV_LOCK) -> dict[str, str]:
    """The lock's pins, after checking it pins every LAMBDA_PACKAGE and agrees with the dev lock
    on every distribution both pin. Raises ``PackageError`` (run `make lock`) otherwise."""
    if not lock.exists():
        raise PackageError(f"{lock.relative_to(REPO)} is missing: run `{LOCK_COMMAND}`")
    pins = pinned(lock.read_text())
    unpinned = [p for p in LAMBDA_PACKAGES if normalise(p) not in pins]
    if unpinned:
        raise PackageError(f"{lock.name} does not pin {unpinned}: run `{LOCK_COMMAND}`")
    if dev_lock.exists():
        dev = pinned(dev_lock.read_text())
        drift = {n: f"{v} (dev {dev[n]})" for n, v in pins.items() if n in dev and dev[n] != v}
        if drift:
            raise PackageError(f"{lock.name} and {dev_lock.name} disagree: {drift}: run `{LOCK_COMMAND}`")
    return pins


def lock(uv: Path | None = None) -> None:
    """Regenerate requirements/lambda.lock (needs PyPI). ``uv``: default, the one beside this Python."""
    if not DEV_LOCK.exists():
        raise PackageError(f"{DEV_LOCK.relative_to(REPO)} is missing: the Lambda lock is constrained by it")
    stdin = "".join(r + "\n" for r in requirements())
    done = subprocess.run(lock_command(uv or Path(sys.executable).with_name("uv")), input=stdin, text=True, check=False)
    if done.returncode != 0:
        raise PackageError(f"uv pip compile failed (exit {done.returncode})")
    check_lock()


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description="Regenerate requirements/lambda.lock").parse_args(argv)
    try:
        lock()
    except PackageError as e:
        print(f"lock: {e}", file=sys.stderr)
        return e.exit_code
    print(f"wrote {LOCK.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
