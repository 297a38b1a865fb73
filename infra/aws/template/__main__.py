"""``python -m infra.aws.template``: write infra/aws/template.yaml; ``--check``: exit 1 if the
committed file is not what the definitions generate (`make package` and `make validate-template`)."""

from __future__ import annotations

import argparse
import sys

from infra.aws.template.assemble import COMMAND, TEMPLATE_PATH, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Generate the AWS SAM template (infra/aws/template.yaml)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if template.yaml differs from the generated one")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not TEMPLATE_PATH.exists() or TEMPLATE_PATH.read_text() != text:
            print(f"{TEMPLATE_PATH} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    TEMPLATE_PATH.write_text(text)
    print(f"wrote {TEMPLATE_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
