"""`make package` helpers: the layer's requirements come from pyproject, the import check finds
what is missing, and the Glue zip is byte-stable (its hash is the template's ArtifactVersion)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from infra.aws import package

REPO = Path(__file__).resolve().parents[2]


def test_layer_requirements_are_pyprojects_specifiers() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"]) | {r for extra in project["optional-dependencies"].values() for r in extra}
    reqs = package.requirements()
    assert len(reqs) == len(package.LAMBDA_PACKAGES)
    assert set(reqs) <= declared


def test_missing_imports_follow_the_handlers(tmp_path: Path) -> None:
    code, layer = tmp_path / "code", tmp_path / "layer"
    (code / "pkg").mkdir(parents=True)
    layer.mkdir()
    (layer / "fastapi").mkdir()
    (code / "pkg" / "__init__.py").write_text("")
    (code / "pkg" / "handler.py").write_text("import json\nimport fastapi\nfrom pkg import helper\n")
    (code / "pkg" / "helper.py").write_text("def f():\n    import duckdb\n")
    (code / "pkg" / "unused.py").write_text("import polars\n")  # not reached from the handler
    assert package.missing_imports(code, layer, ["pkg.handler"]) == {"duckdb": {"pkg.helper"}}


def test_handlers_import_only_packaged_modules(tmp_path: Path) -> None:
    """The real code as packaged, with the layer's packages (and what they bring) assumed present."""
    code, layer = tmp_path / "code", tmp_path / "layer"
    package.copy_packages(package.CODE_PACKAGES, code)
    for name in (*package.LAMBDA_PACKAGES, "botocore", "pydantic", "starlette"):
        (layer / name).mkdir(parents=True)
    entries = [s.handler.rpartition(".")[0] for s in package.function_specs()]
    assert package.missing_imports(code, layer, entries) == {}


def test_glue_zip_is_reproducible(tmp_path: Path) -> None:
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    package.zip_packages(package.GLUE_PACKAGES, a)
    package.zip_packages(package.GLUE_PACKAGES, b)
    assert a.read_bytes() == b.read_bytes()
