"""`make package`: the Lambda code, its dependency layer and the Glue job files, in build/package/.

    build/package/lambda/code/           alleycat/ and consumers/ (every function's CodeUri)
    build/package/lambda/layer/python/   dependencies: arm64 manylinux wheels for CPython 3.12
    build/package/glue/<script>          the Glue job script, and alleycat-glue.zip (--extra-py-files)
    build/package/glue/VERSION           content hash: the template's ArtifactVersion (S3 key of the Glue files)

The layer is requirements/lambda.lock installed with ``--require-hashes``, binary wheels only
(``infra.aws.layer``: what is in it and how it is locked). The handlers' imports are checked
against what was packaged, and so are the race page's module imports (its vendored libraries,
consumers/api/page/vendor/, are made by `make setup`), and the unzipped size against Lambda's
250 MB limit.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from alleycat.errors import AlleycatError
from infra.aws import layer
from infra.aws.errors import PackageError
from infra.aws.template.functions import function_specs
from infra.aws.template.lake.glue_job import GLUE_EXTRA_PY, GLUE_SCRIPT

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "build" / "package"
CODE_PACKAGES = ("alleycat", "consumers")
GLUE_PACKAGES = ("alleycat", "glue_jobs")
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
PAGE_JS = Path("consumers") / "api" / "page" / "js"
# the relative specifiers of the page's static and dynamic imports: from "./x.js", import("../vendor/y.js")
_JS_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(\s*)["'](\.{1,2}/[^"']+)["']""")


def copy_packages(names: tuple[str, ...], dest: Path) -> None:
    for name in names:
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def type_checking_only(tree: ast.AST) -> set[ast.AST]:
    """The nodes under ``if TYPE_CHECKING:`` (never run: type stubs such as mypy_boto3_* are not packaged)."""
    skipped: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
            (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
            or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
        ):
            skipped.update(n for stmt in node.body for n in ast.walk(stmt))
    return skipped


def missing_imports(code: Path, layer_dir: Path, entry_modules: list[str]) -> dict[str, set[str]]:
    """Top-level modules the handlers reach (transitively, through packaged code) that are neither
    in the standard library, the code, nor the layer. Lazy imports inside functions count too;
    imports under ``if TYPE_CHECKING:`` do not."""
    available = {p.name.removesuffix(".py") for p in layer_dir.iterdir()} | {p.name for p in code.iterdir()}
    available |= set(sys.stdlib_module_names)
    seen: set[str] = set()
    todo = list(entry_modules)
    missing: dict[str, set[str]] = {}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_file(code, module)
        if path is None:
            continue
        tree = ast.parse(path.read_text())
        skipped = type_checking_only(tree)
        for node in ast.walk(tree):
            if node in skipped:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in available:
                    missing.setdefault(top, set()).add(module)
                elif (code / top).exists():
                    todo.append(name)
                    parts = name.split(".")
                    todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # package __init__s
    return missing


def missing_page_modules(code: Path) -> dict[str, set[str]]:
    """The files the race page's modules import (relative specifiers) that are not in ``code``:
    {missing path: {importing modules}}, paths relative to ``code``."""
    missing: dict[str, set[str]] = {}
    for module in sorted((code / PAGE_JS).glob("*.js")):
        for specifier in _JS_IMPORT.findall(module.read_text()):
            target = (module.parent / specifier).resolve()
            if not target.is_file():
                importer = str(module.relative_to(code))
                missing.setdefault(os.path.relpath(target, code.resolve()), set()).add(importer)
    return missing


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def zip_packages(names: tuple[str, ...], target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            for path in sorted((REPO / name).rglob("*.py")):
                info = zipfile.ZipInfo(str(path.relative_to(REPO)), date_time=(2020, 1, 1, 0, 0, 0))
                zf.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)  # fixed dates: stable hash


def package_lambda(out: Path, install: bool = True) -> None:
    lambda_dir = out / "lambda"
    code, layer_dir = lambda_dir / "code", lambda_dir / "layer" / "python"
    shutil.rmtree(code, ignore_errors=True)
    code.mkdir(parents=True)
    copy_packages(CODE_PACKAGES, code)
    if install:
        pins = layer.check_lock()
        shutil.rmtree(layer_dir, ignore_errors=True)
        layer_dir.mkdir(parents=True)
        print("== layer:", " ".join(f"{layer.normalise(p)}=={pins[layer.normalise(p)]}" for p in layer.LAMBDA_PACKAGES))
        done = subprocess.run(layer.install_command(layer_dir), check=False)
        if done.returncode != 0:
            raise PackageError(f"pip could not install {layer.LOCK.relative_to(REPO)} (exit {done.returncode})")
    elif not layer_dir.is_dir():
        raise PackageError(f"no layer in {layer_dir} to reuse: run without --no-install")
    entries = [s.handler.rpartition(".")[0] for s in function_specs()]
    missing = missing_imports(code, layer_dir, entries)
    if missing:
        raise PackageError(f"handlers import modules that are not packaged: {missing}")
    unvendored = missing_page_modules(code)
    if unvendored:
        raise PackageError(f"the race page imports files that are not packaged (run `make setup`): {unvendored}")
    size = tree_size(code) + tree_size(layer_dir)
    if size > LAMBDA_UNZIPPED_LIMIT:
        raise PackageError(f"code + layer unzipped is {size / 2**20:.0f} MiB, over Lambda's 250 MB")
    print(f"== lambda: code + layer {size / 2**20:.0f} MiB unzipped (limit 250 MB)")


def package_glue(out: Path) -> str:
    glue = out / "glue"
    shutil.rmtree(glue, ignore_errors=True)
    glue.mkdir(parents=True)
    script = REPO / "glue_jobs" / GLUE_SCRIPT
    if not script.exists():
        raise PackageError(f"the Glue job script {script.relative_to(REPO)} (named by the template) is missing")
    shutil.copy2(script, glue / GLUE_SCRIPT)
    zip_packages(GLUE_PACKAGES, glue / GLUE_EXTRA_PY)
    digest = hashlib.sha256()
    for name in (GLUE_SCRIPT, GLUE_EXTRA_PY):
        digest.update((glue / name).read_bytes())
    version = digest.hexdigest()[:16]
    (glue / "VERSION").write_text(version + "\n")
    print(f"== glue: {GLUE_SCRIPT}, {GLUE_EXTRA_PY}, ArtifactVersion {version}")
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Lambda and Glue artifacts into build/package/")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-install", action="store_true", help="reuse the layer already in --out")
    args = parser.parse_args(argv)
    try:
        package_lambda(args.out, install=not args.no_install)
        package_glue(args.out)
    except AlleycatError as e:
        print(f"package: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
