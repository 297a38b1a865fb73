"""checkov over the template, as written and after an offline SAM transform (`make lint`, `make test`).

    python -m infra.aws.scan    # exit 1 if any check fails

checkov and aws-sam-translator live in their own venv (build/tools/scan, from the hashed
requirements/scan.lock): their pins would downgrade boto3 and pydantic in the project's. Every
check either passes or is suppressed in the template with its reason (``infra.aws.template.checks``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.aws.template.assemble import TEMPLATE_PATH

REPO = Path(__file__).resolve().parents[2]
SCAN_VENV = REPO / "build" / "tools" / "scan"
OUT = REPO / "build" / "scan"
SAM_OFFLINE = Path(__file__).with_name("sam_offline.py")


@dataclass
class Result:
    template: Path
    passed: int
    failed: list[str]  # "CKV_AWS_18 AWS::S3::Bucket.LakeBucket: <check name>"
    skipped: int


def transformed(template: Path = TEMPLATE_PATH, venv: Path = SCAN_VENV, out: Path = OUT) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / "template.transformed.json"
    subprocess.run([str(venv / "bin" / "python"), str(SAM_OFFLINE), str(template), str(target)], check=True)
    return target


def checkov(template: Path, venv: Path = SCAN_VENV) -> Result:
    done = subprocess.run(
        [str(venv / "bin" / "checkov"), "--file", str(template), "--framework", "cloudformation", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):  # 1: some check failed; anything else: checkov itself did
        raise RuntimeError(f"checkov failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    report: Any = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    summary = report["summary"]
    if summary["parsing_errors"]:
        raise RuntimeError(f"checkov could not parse {template}")
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    return Result(template, summary["passed"], failed, summary["skipped"])


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description="checkov over the SAM template, before and after the transform").parse_args(
        argv
    )
    results = [checkov(TEMPLATE_PATH), checkov(transformed())]
    for r in results:
        name = r.template.relative_to(REPO)
        print(f"checkov {name}: {r.passed} passed, {len(r.failed)} failed, {r.skipped} suppressed (reasons: template)")
        for line in r.failed:
            print(f"  FAILED {line}")
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
