"""The race page's AWS live channel, the parts that need no server: the SigV4-presigned IoT
WebSocket URL (``consumers/api/page/js/sigv4.js``, run under Node with its WebCrypto) against
botocore's SigV4QueryAuth for the same request, and the JS topic name against
``alleycat.domain.keys.live_topic``."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from typing import Any
from unittest import mock
from urllib.parse import quote

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from alleycat.domain import keys
from alleycat.testing.browser import REPO

JS = REPO / "consumers" / "api" / "page" / "js"
NOW = datetime.datetime(2026, 12, 4, 20, 15, 7, tzinfo=datetime.UTC)
ACCESS_KEY, SECRET_KEY = "ASIAEXAMPLEEXAMPLE01", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# a session token has the characters that need percent-encoding (and one encodeURIComponent misses)
TOKEN = "IQoJb3JpZ2luX2VjE//////////wEaCXVzLWVhc3QtMSJH+MEUCIQ=='x!"


def node(script: str, **values: Any) -> Any:
    """Run an ES module under Node from the page's js/ folder; it gets ``values`` as ``input`` and
    prints its answer as JSON."""
    prelude = "const input = JSON.parse(process.env.ALLEYCAT_JS_INPUT);\n"
    done = subprocess.run(
        ["node", "--input-type=module"],
        input=prelude + script,
        capture_output=True,
        text=True,
        cwd=JS,
        env={**os.environ, "ALLEYCAT_JS_INPUT": json.dumps(values)},
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def js_presign(url: str, region: str, token: str | None) -> str:
    script = """
import { presignIotUrl } from "./sigv4.js";
const credentials = { accessKeyId: input.access, secretKey: input.secret, sessionToken: input.token };
const url = await presignIotUrl({ url: input.url, region: input.region, credentials, now: new Date(input.now) });
console.log(JSON.stringify(url));
"""
    signed: str = node(
        script, url=url, region=region, access=ACCESS_KEY, secret=SECRET_KEY, token=token, now=NOW.isoformat()
    )
    return signed


def botocore_presign(url: str, region: str) -> str:
    """botocore's query signing of the same GET, without the token: IoT wants the token outside the
    canonical request, where botocore would sign it in."""
    request = AWSRequest(method="GET", url=url)
    auth = SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET_KEY), "iotdevicegateway", region, expires=86400)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        auth.add_auth(request)
    return str(request.url)


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("wss://a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com/mqtt", "eu-west-1"),
        ("ws://127.0.0.1:9001/mqtt", "us-east-1"),  # a test broker: the port is part of the signed host
    ],
)
def test_presigned_url_is_botocores_with_the_token_appended(url: str, region: str) -> None:
    expected = botocore_presign(url, region)
    assert "X-Amz-Signature=" in expected and "X-Amz-Security-Token" not in expected
    assert js_presign(url, region, None) == expected
    assert js_presign(url, region, TOKEN) == f"{expected}&X-Amz-Security-Token={quote(TOKEN, safe='-_.~')}"


def test_signing_the_token_in_would_differ() -> None:
    """The check above can fail: botocore with the token signed in (the usual SigV4) gives another
    signature than the page's URL carries."""
    url, region = "wss://example-ats.iot.eu-west-1.amazonaws.com/mqtt", "eu-west-1"
    request = AWSRequest(method="GET", url=url)
    auth = SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET_KEY, TOKEN), "iotdevicegateway", region, expires=86400)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        auth.add_auth(request)
    signature = str(request.url).rsplit("X-Amz-Signature=", 1)[1]
    assert f"X-Amz-Signature={signature}" not in js_presign(url, region, TOKEN)


def test_topic_is_the_domains() -> None:
    script = """
import { liveTopic } from "./topics.js";
console.log(JSON.stringify([liveTopic(1, 2), liveTopic(7000002, 6)]));
"""
    assert node(script) == [keys.live_topic(1, 2), keys.live_topic(7_000_002, 6)]
