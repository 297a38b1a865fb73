"""pip-audit over the hashed locks (`make lint`, `make test`): every pinned distribution of
requirements/dev.lock and requirements/lambda.lock against PyPI's vulnerability data.

    python -m infra.audit    # exit 1 on a known vulnerability (or an unauditable pin, --strict)

pip-audit asks PyPI's per-release JSON API (``/pypi/<name>/<version>/json``, which carries the
release's advisories). Where that API cannot be reached (no network, or a registry mirror that
serves packages but not that API), nothing can be audited: this says so, loudly, and exits 0, so
an offline build still builds; the check runs wherever the source is reachable.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCKS = (REPO / "requirements" / "dev.lock", REPO / "requirements" / "lambda.lock")
# A release that exists for good: if its JSON is not served, no release's is.
PROBE = "https://pypi.org/pypi/pip/24.0/json"


def source_reachable(url: str = PROBE, timeout_s: float = 10) -> str | None:
    """None when pip-audit's source answers; otherwise why not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # nosec B310
            response.read(1)
        return None
    except urllib.error.HTTPError as e:
        return f"{url} answered HTTP {e.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        return f"{url} is unreachable ({getattr(e, 'reason', e)})"


def audit_command(lock: Path) -> list[str]:
    # The locks pin everything with hashes: audit exactly those pins, no resolution, no pip run.
    return [
        sys.executable, "-m", "pip_audit", "--strict", "--no-deps", "--disable-pip", "--vulnerability-service",
        "pypi", "--requirement", str(lock), "--progress-spinner", "off",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description="pip-audit over requirements/*.lock").parse_args(argv)
    why = source_reachable()
    if why is not None:
        print(f"pip-audit: NOT RUN, its vulnerability source (PyPI's JSON API) is not reachable: {why}")
        return 0
    worst = 0
    for lock in LOCKS:
        print(f"pip-audit {lock.relative_to(REPO)}", flush=True)
        worst = max(worst, subprocess.run(audit_command(lock), check=False).returncode)
    return worst


if __name__ == "__main__":
    sys.exit(main())
