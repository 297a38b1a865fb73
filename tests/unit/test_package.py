"""`make package` helpers: the layer's requirements come from pyproject and are locked with hashes
in agreement with the dev lock, the import check finds what is missing, and the Glue zip is
byte-stable (its hash is the template's ArtifactVersion)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from infra.aws import layer, package
from infra.aws.template.functions import ARCHITECTURE, RUNTIME, function_specs

REPO = Path(__file__).resolve().parents[2]


def test_layer_requirements_are_pyprojects_specifiers() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"]) | {r for extra in project["optional-dependencies"].values() for r in extra}
    reqs = layer.requirements()
    assert len(reqs) == len(layer.LAMBDA_PACKAGES)
    assert set(reqs) <= declared


def test_lambda_lock_pins_every_package_with_hashes_at_the_dev_versions() -> None:
    pins = layer.check_lock()  # every LAMBDA_PACKAGE pinned; no version differs from requirements/dev.lock
    dev = layer.pinned(layer.DEV_LOCK.read_text())
    assert pins["pyarrow"] == dev["pyarrow"]  # the layer used to get pyarrow 20 while the venv had 26
    hashed = re.findall(r"^(\S+)==\S+ \\\n(?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+", layer.LOCK.read_text(), re.M)
    assert sorted(layer.normalise(n) for n in hashed) == sorted(pins)
    assert "rich" not in pins  # the CLI's, not the handlers'


def test_layer_targets_the_functions_runtime() -> None:
    assert (RUNTIME, ARCHITECTURE) == ("python3.12", "arm64")
    install = layer.install_command(Path("/tmp/layer"))
    for flag in ("--require-hashes", "--only-binary=:all:", "--target"):
        assert flag in install
    assert install[install.index("--python-version") + 1] == "3.12"
    assert install[install.index("-r") + 1] == str(layer.LOCK)
    platforms = {install[i + 1] for i, arg in enumerate(install) if arg == "--platform"}
    assert {"manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"} <= platforms
    assert not any("x86_64" in p or "2_35" in p for p in platforms)
    compile_ = layer.lock_command(Path("uv"))
    assert "--generate-hashes" in compile_
    assert compile_[compile_.index("--python-platform") + 1] == "aarch64-manylinux_2_34"
    assert compile_[compile_.index("--constraint") + 1] == str(layer.DEV_LOCK)


def test_missing_imports_follow_the_handlers(tmp_path: Path) -> None:
    code, layer_dir = tmp_path / "code", tmp_path / "layer"
    (code / "pkg").mkdir(parents=True)
    layer_dir.mkdir()
    (layer_dir / "fastapi").mkdir()
    (code / "pkg" / "__init__.py").write_text("")
    (code / "pkg" / "handler.py").write_text("import json\nimport fastapi\nfrom pkg import helper\n")
    (code / "pkg" / "helper.py").write_text("def f():\n    import duckdb\n")
    (code / "pkg" / "unused.py").write_text("import polars\n")  # not reached from the handler
    assert package.missing_imports(code, layer_dir, ["pkg.handler"]) == {"duckdb": {"pkg.helper"}}


def test_imports_for_type_checking_only_are_not_needed_at_run_time(tmp_path: Path) -> None:
    code, layer_dir = tmp_path / "code", tmp_path / "layer"
    (code / "pkg").mkdir(parents=True)
    layer_dir.mkdir()
    (code / "pkg" / "__init__.py").write_text("")
    (code / "pkg" / "typed.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    import mypy_boto3_s3\n")
    (code / "pkg" / "handler.py").write_text(
        "from typing import TYPE_CHECKING\nfrom pkg import typed\n"
        "if TYPE_CHECKING:\n    from mypy_boto3_dynamodb import Table\nelse:\n    import polars\n"
    )
    assert package.missing_imports(code, layer_dir, ["pkg.handler"]) == {"polars": {"pkg.handler"}}


def test_handlers_import_only_packaged_modules(tmp_path: Path) -> None:
    """The real code as packaged, with the layer's packages (and what they bring) assumed present."""
    code, layer_dir = tmp_path / "code", tmp_path / "layer"
    package.copy_packages(package.CODE_PACKAGES, code)
    for name in (*layer.LAMBDA_PACKAGES, "botocore", "pydantic", "starlette"):
        (layer_dir / name).mkdir(parents=True)
    entries = [s.handler.rpartition(".")[0] for s in function_specs()]
    assert package.missing_imports(code, layer_dir, entries) == {}


def test_missing_page_modules_follow_the_imports(tmp_path: Path) -> None:
    js = tmp_path / package.PAGE_JS
    js.mkdir(parents=True)
    (js / "main.js").write_text('import { a } from "./a.js";\nconst b = await import("../vendor/lib.esm.js");\n')
    (js / "a.js").write_text('export const a = 1; // imports nothing from "here"\n')
    assert package.missing_page_modules(tmp_path) == {
        "consumers/api/page/vendor/lib.esm.js": {"consumers/api/page/js/main.js"}
    }
    (js.parent / "vendor").mkdir()
    (js.parent / "vendor" / "lib.esm.js").write_text("export default {};\n")
    assert package.missing_page_modules(tmp_path) == {}


def test_page_imports_only_packaged_files(tmp_path: Path) -> None:
    """The real page as packaged: its vendored mqtt.js (made by `make setup`) goes with it."""
    package.copy_packages(package.CODE_PACKAGES, tmp_path)
    assert package.missing_page_modules(tmp_path) == {}


def test_glue_zip_is_reproducible(tmp_path: Path) -> None:
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    package.zip_packages(package.GLUE_PACKAGES, a)
    package.zip_packages(package.GLUE_PACKAGES, b)
    assert a.read_bytes() == b.read_bytes()
