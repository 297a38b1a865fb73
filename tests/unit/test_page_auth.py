"""The race page's PKCE helpers (consumers/api/page/js/auth.js) under Node's WebCrypto, against
RFC 7636's appendix B: the octets, the code verifier they encode to, and its S256 challenge."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from consumers.api.routers.page import PAGE

NODE = shutil.which("node")
AUTH_JS = (PAGE / "js" / "auth.js").as_uri()
# RFC 7636, appendix B.
OCTETS = [
    116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
    22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
]  # fmt: skip
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def run(script: str) -> Any:
    assert NODE, "node is not installed: `make setup` installs Node.js"
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", f"import * as auth from {json.dumps(AUTH_JS)};\n{script}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_rfc7636_appendix_b() -> None:
    out = run(
        f"const verifier = auth.base64url(new Uint8Array({json.dumps(OCTETS)}));\n"
        "console.log(JSON.stringify({ verifier, challenge: await auth.codeChallenge(verifier) }));"
    )
    assert out == {"verifier": VERIFIER, "challenge": CHALLENGE}


def test_random_verifiers_are_43_unreserved_characters_and_differ() -> None:
    out = run("console.log(JSON.stringify(Array.from({ length: 3 }, () => auth.randomVerifier())));")
    assert len(set(out)) == 3
    for verifier in out:
        assert len(verifier) == 43 and all(c.isalnum() or c in "-_" for c in verifier), verifier
