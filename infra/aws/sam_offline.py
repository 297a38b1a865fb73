"""The SAM transform, offline: ``template.yaml`` as CloudFormation will deploy it, so checkov also
sees what SAM generates (stages, deployments, permissions). Runs in the scanners' venv
(build/tools/scan, from requirements/scan.lock), which has aws-sam-translator; `python -m
infra.aws.scan` calls it as ``<scan venv>/bin/python infra/aws/sam_offline.py IN OUT``.

Two stand-ins make the transform local: packaged S3 URIs for the code and layer (what `make
package` uploads), and no managed-policy lookup (the template names no managed policy). SAM carries
a function's Metadata to what it generates but not an API's, so an API's checkov suppressions are
copied to the resources generated from it (named after it), with their reasons."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import yaml
from samtranslator.translator.transform import transform

REGION = "us-east-1"


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def offline(template: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the translator asks boto3 for a region
    template["Globals"]["Function"]["CodeUri"] = "s3://packaged/code.zip"
    for r in template["Resources"].values():
        if r["Type"] == "AWS::Serverless::LayerVersion":
            r["Properties"]["ContentUri"] = "s3://packaged/layer.zip"
    sources = {
        name: r["Metadata"]["checkov"]
        for name, r in template["Resources"].items()
        if r["Type"].startswith("AWS::Serverless::") and "checkov" in r.get("Metadata", {})
    }
    out: dict[str, Any] = transform(template, {"AWS::Region": REGION}, _NoManagedPolicies())
    for name, r in out["Resources"].items():
        for source, checks in sources.items():
            if name != source and name.startswith(source) and "checkov" not in r.get("Metadata", {}):
                r.setdefault("Metadata", {})["checkov"] = checks
    return out


def main(argv: list[str]) -> int:
    source, target = argv
    with open(source) as f:
        template = yaml.safe_load(f)
    with open(target, "w") as f:
        json.dump(offline(template), f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
