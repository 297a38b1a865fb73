"""Settings are read once from an environment mapping; bad values are a ConfigError naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from alleycat import settings as env
from alleycat.errors import ConfigError
from alleycat.settings import Settings


def test_defaults_run_the_local_stack() -> None:
    s = Settings.from_env({})
    assert (s.stream, s.table, s.shards, s.region) == ("alleycat-telemetry", "alleycat", 4, "us-east-1")
    assert s.home == Path(".alleycat").resolve()
    assert s.local_s3_root is None and s.live_url is None and s.dead_letter_bucket is None


def test_values_come_from_the_mapping_given_not_the_process() -> None:
    s = Settings.from_env({env.SHARDS: "1", env.LAKE_URI: "s3://lake/", env.LIVE_TOP: "5", "AWS_REGION": "eu-west-1"})
    assert (s.shards, s.lake_uri, s.live_top, s.region) == (1, "s3://lake", 5, "eu-west-1")


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        (env.SHARDS, "four", "ALLEYCAT_SHARDS='four' is not a whole number"),
        (env.SHARDS, "0", "ALLEYCAT_SHARDS='0' must be at least 1"),
        (env.FIREHOSE_BUFFER_SECONDS, "soon", "ALLEYCAT_FIREHOSE_BUFFER_SECONDS='soon' is not a number"),
        (env.FIREHOSE_BUFFER_SECONDS, "-1", "must be above 0"),
        (env.TRANSPORT, "pigeon", "ALLEYCAT_TRANSPORT='pigeon' must be one of kinesis, kafka"),
    ],
)
def test_malformed_values_are_config_errors(name: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: raw})


def test_a_stack_process_rebuilds_the_same_settings_from_its_environment(tmp_path: Path) -> None:
    s = Settings.from_env({env.HOME: str(tmp_path), env.API_PORT: "9999", env.LAKE_TRIGGER_SECONDS: "10"})
    child = Settings.from_env(s.local_stack_env())
    assert child.replace(local_s3_root=None, live_url=None) == s
    assert child.local_s3_root == tmp_path / "s3"
    assert child.live_url == "http://127.0.0.1:9999/internal/live"


def test_the_kafka_transport_reaches_children_and_the_shell(tmp_path: Path) -> None:
    from infra.local.environment import shell_env

    s = Settings.from_env({env.HOME: str(tmp_path), env.TRANSPORT: "kafka", env.KAFKA_PORT: "19092"})
    assert s.kafka_bootstrap == "127.0.0.1:19092"
    assert Settings.from_env(s.local_stack_env()).replace(local_s3_root=None, live_url=None) == s
    shell = shell_env(s)
    assert shell[env.TRANSPORT] == "kafka" and shell[env.KAFKA_BOOTSTRAP] == "127.0.0.1:19092"
    assert shell[env.KAFKA_TOPIC] == "alleycat-telemetry"
    assert env.KAFKA_BOOTSTRAP not in shell_env(s.replace(transport="kinesis"))
    remote = Settings.from_env({env.KAFKA_BOOTSTRAP: "b-1.msk:9098,b-2.msk:9098"})
    assert remote.kafka_bootstrap == "b-1.msk:9098,b-2.msk:9098"
