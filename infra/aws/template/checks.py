"""checkov suppressions, written into the resource they concern with the reason next to them
(``Metadata.checkov.skip``, which checkov reads and the SAM transform carries to what it
generates). Everything else checkov reports is fixed in the template; `make lint` runs it."""

from __future__ import annotations

from typing import Any


def skip(resource: dict[str, Any], **reasons: str) -> dict[str, Any]:
    """``resource`` with a checkov skip per ``CHECK_ID=reason`` (added to any it already has)."""
    entries = resource.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault("skip", [])
    entries.extend({"id": check, "comment": reason} for check, reason in reasons.items())
    return resource


def skips(template: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Every suppression in ``template``: resource name -> [(check id, reason)]."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name, resource in template["Resources"].items():
        entries = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        if entries:
            out[name] = [(e["id"], e["comment"]) for e in entries]
    return out
