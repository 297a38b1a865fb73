"""CloudFormation intrinsic functions in their long form (``{"Ref": ...}``), so the template is
plain YAML with no custom tags: any YAML reader, the tests included, can load it."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def att(name: str, attr: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [name, attr]}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}
