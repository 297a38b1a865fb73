"""Schemathesis over the served OpenAPI document with every check (``st run --checks all``): status
codes, content types, headers and bodies must match the document, schema-valid requests must be
accepted and invalid ones rejected, and nothing answers 5xx.

A schema-valid ``cursor`` is one the listing issued (the document says so: an opaque signed token),
so a generated positive case's cursor is replaced by the ``nextCursor`` of the same listing's first
page, or dropped when that listing has no second page. The SSE stream never ends, so only its
documented 404 is called here (test_api.py reads the stream).

``ALLEYCAT_FUZZ_EXAMPLES`` sets the valid examples per operation (invalid ones: 60% of it);
``make fuzz`` runs more than 1,000 cases and prints the counts."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
import schemathesis.specs.openapi.checks
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS
from schemathesis.core.result import Ok

from tests.integration.test_api import World, client, world  # noqa: F401  (the seeded API and its client)

EXAMPLES = int(os.environ.get("ALLEYCAT_FUZZ_EXAMPLES", "15"))


def _issued_cursor(url: str, case: schemathesis.Case) -> str | None:
    """The cursor the listing of ``case`` hands out for its second page (None if it has none)."""
    query = {k: v for k, v in (case.query or {}).items() if k not in ("cursor", "limit")}
    answer = httpx.get(url + case.formatted_path, params={**query, "limit": 1}, timeout=10)
    if answer.status_code != 200:
        return None
    cursor = answer.json().get("nextCursor")
    return cursor if isinstance(cursor, str) else None


def _property(
    operation: Any,
    mode: schemathesis.GenerationMode,
    examples: int,
    url: str,
    checks: list[Any],
    statuses: Counter[int],
    cases: Counter[str],
) -> Callable[[], None]:
    stream = operation.path.endswith("/live/stream")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        if stream:
            case.path_parameters = {**(case.path_parameters or {}), "classId": 9}  # a 404, never a stream
        if mode is schemathesis.GenerationMode.POSITIVE and (case.query or {}).get("cursor") is not None:
            issued = _issued_cursor(url, case)
            if issued is None:
                del case.query["cursor"]
            else:
                case.query["cursor"] = issued
        response = case.call_and_validate(checks=checks, timeout=10)
        statuses[response.status_code] += 1
        cases[mode.value] += 1

    return check


def test_openapi_all_checks(world: World) -> None:  # noqa: F811
    schema = schemathesis.openapi.from_url(f"{world.url}/openapi.json")
    checks = CHECKS.get_all()
    assert len(checks) >= 14, [c.__name__ for c in checks]
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) == 10
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    cases: Counter[str] = Counter()
    for operation in operations:
        modes = {schemathesis.GenerationMode.POSITIVE: EXAMPLES}
        if operation.path_parameters or operation.query:
            modes[schemathesis.GenerationMode.NEGATIVE] = max(1, EXAMPLES * 3 // 5)
        for mode, examples in modes.items():
            check = _property(operation, mode, examples, world.url, checks, statuses, cases)
            try:
                check()
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    total = sum(cases.values())
    answered = dict(sorted(statuses.items()))
    print(f"\nschemathesis, {len(checks)} checks: {total} cases ({dict(cases)}), statuses {answered}")
    print(f"failures: {len(failures)}")
    assert not failures, "\n\n".join(failures)
    assert total >= 10 * EXAMPLES and {200, 400, 404} <= set(statuses) and max(statuses) < 500
