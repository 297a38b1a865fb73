"""`make deploy`'s race-page step (infra.aws.page): config.json from the stack's outputs, the files'
keys and content types, and the upload (botocore's Stubber checks each S3 call; no server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from consumers.api.routers.page import LOCAL_CONFIG
from infra.aws.errors import DeployError
from infra.aws.page import page_config, page_files, upload_page
from infra.aws.template.assemble import build

OUTPUTS = {
    "PageUrl": "https://d111111abcdef8.cloudfront.net/",
    "PageApiBase": "/v1",
    "PageAuthDomain": "https://alleycat-123456789012.auth.eu-west-1.amazoncognito.com",
    "PageUserPoolClientId": "1example23456789",
    "PageScopes": "openid aws.cognito.signin.user.admin",
    "IotDataEndpoint": "https://a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com",
    "LiveIdentityPoolId": "eu-west-1:11111111-2222-3333-4444-555555555555",
    "Region": "eu-west-1",
    "ApiUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/v1",
}


class JsonOf:
    """Equal to bytes holding ``value`` as JSON (what the Stubber compares a Body with)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, bytes) and json.loads(other) == self.value

    def __repr__(self) -> str:
        return f"JsonOf({self.value!r})"


def test_config_from_the_stack_outputs() -> None:
    assert page_config(OUTPUTS) == {
        "apiBase": "/v1",
        "live": {
            "channel": "iot",
            "region": "eu-west-1",
            "endpoint": "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com",
            "identityPoolId": "eu-west-1:11111111-2222-3333-4444-555555555555",
        },
        "auth": {
            "domain": "https://alleycat-123456789012.auth.eu-west-1.amazoncognito.com",
            "clientId": "1example23456789",
            "redirectUri": "https://d111111abcdef8.cloudfront.net/",
            "scopes": ["openid", "aws.cognito.signin.user.admin"],
        },
    }


def test_config_has_the_local_answers_shape() -> None:
    config = page_config(OUTPUTS)
    assert set(config) == set(LOCAL_CONFIG)
    assert set(config["live"]) >= set(LOCAL_CONFIG["live"])


def test_the_template_outputs_what_the_config_reads() -> None:
    outputs = build()["Outputs"]
    read = set(OUTPUTS) - {"ApiUrl"}
    assert read <= set(outputs)
    assert page_config({k: OUTPUTS[k] for k in read})  # nothing else is needed


def test_a_missing_output_says_which() -> None:
    with pytest.raises(DeployError, match="PageAuthDomain"):
        page_config({k: v for k, v in OUTPUTS.items() if k != "PageAuthDomain"})


def test_files_are_keyed_as_the_local_api_serves_them() -> None:
    files = {f.key: f.content_type for f in page_files()}
    assert files["index.html"] == "text/html; charset=utf-8"
    assert files["page/page.css"] == "text/css; charset=utf-8"
    assert files["page/js/main.js"] == "text/javascript; charset=utf-8"
    assert files["page/js/config.js"] == "text/javascript; charset=utf-8"
    assert all(k == "index.html" or k.startswith("page/") for k in files)
    assert "config.json" not in files  # written from the outputs, never from a file


def test_vendored_libraries_go_with_the_page(tmp_path: Path) -> None:
    """make setup copies mqtt.js and its licence into page/vendor/ (git-ignored): they are uploaded."""
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "mqtt.esm.js").write_text("export default {};")
    (tmp_path / "vendor" / "mqtt.LICENSE.md").write_text("MIT")
    assert [(f.key, f.content_type) for f in page_files(tmp_path)] == [
        ("page/vendor/mqtt.LICENSE.md", "text/markdown; charset=utf-8"),
        ("page/vendor/mqtt.esm.js", "text/javascript; charset=utf-8"),
    ]


def test_an_unknown_file_type_stops_the_deploy(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "notes.txt").write_text("draft")
    with pytest.raises(DeployError, match=r"notes\.txt"):
        page_files(tmp_path)


def test_upload_puts_the_files_and_the_config_and_deletes_stale_ones(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "js" / "main.js").write_text("start();")
    files = page_files(tmp_path)
    config = page_config(OUTPUTS)
    s3 = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(s3) as stub:
        for key, body, content_type in (
            ("index.html", b"<!doctype html>", "text/html; charset=utf-8"),
            ("page/js/main.js", b"start();", "text/javascript; charset=utf-8"),
            ("config.json", JsonOf(config), "application/json"),
        ):
            expected = {
                "Bucket": "b",
                "Key": key,
                "Body": body,
                "ContentType": content_type,
                "CacheControl": "no-cache",
            }
            stub.add_response("put_object", {}, expected)
        listing = {"Contents": [{"Key": "page/js/main.js"}, {"Key": "page/js/old.js"}], "IsTruncated": False}
        stub.add_response("list_objects_v2", listing, {"Bucket": "b", "Prefix": "page/"})
        stub.add_response(
            "delete_objects", {}, {"Bucket": "b", "Delete": {"Objects": [{"Key": "page/js/old.js"}], "Quiet": True}}
        )
        upload_page(s3, "b", files, config)
        stub.assert_no_pending_responses()
