"""The environment of a local stack process: where its AWS SDK calls go, and its ALLEYCAT_* settings.

Endpoints are boto3's own standard variables (``AWS_ENDPOINT_URL_<SERVICE>``), so project code has
no idea whether it talks to the local servers or to AWS. The ALLEYCAT_* part is
``Settings.local_stack_env()``: a child process that builds ``Settings.from_env()`` from this
environment gets the same settings as its parent. A shell (``alleycat env``) gets less: where the
stack is, not how its starter was tuned.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from alleycat import settings as variables
from alleycat.lake.location import Lake
from alleycat.settings import Settings

# Local servers accept any credentials; boto3 refuses to sign a request without some.
# bandit B105: the local servers ignore them (see above)
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "alleycatlocal", "AWS_SECRET_ACCESS_KEY": "alleycatlocal"}  # nosec B105


def aws_env(settings: Settings) -> dict[str, str]:
    """The standard AWS variables that point every boto3 client (and the AWS CLI) at the local servers."""
    return {
        "AWS_ENDPOINT_URL_KINESIS": settings.kinesis_url,
        "AWS_ENDPOINT_URL_DYNAMODB": settings.dynamodb_url,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": settings.dynamodb_url,
        "AWS_REGION": settings.region,
        "AWS_DEFAULT_REGION": settings.region,  # botocore reads this one; Lambda sets both
        **DUMMY_CREDENTIALS,
    }


SECRETS_FILE = "secrets.json"


def stack_secrets(home: Path) -> dict[str, str]:
    """The stack's own keys, made once per stack home (``<home>/secrets.json``, readable by its owner
    only): the cursor-signing key and the token the publisher shows ``/internal/live``. Random per
    stack, so no other stack (or web page) knows them."""
    path = home / SECRETS_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        made = {"cursor_key": secrets.token_urlsafe(32), "live_token": secrets.token_urlsafe(32)}
        draft = home / f".{SECRETS_FILE}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(made, out)
        try:
            os.link(draft, path)  # atomic, and never replaces the keys another process made first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return dict(json.loads(path.read_text()))


def with_stack_secrets(settings: Settings) -> Settings:
    """``settings`` with the stack's keys where they set none."""
    keys = stack_secrets(settings.home)
    return settings.replace(
        cursor_key=settings.cursor_key or keys["cursor_key"], live_token=settings.live_token or keys["live_token"]
    )


def stack_env(settings: Settings) -> dict[str, str]:
    """Everything a process of the local stack is started with, on top of the parent's environment
    (the stack's own keys included)."""
    return {**aws_env(settings), **with_stack_secrets(settings).local_stack_env()}


# What a shell needs to reach the stack: its servers, names and places. Not the tuning (log level,
# the lake's cadence): exported, it would outlive the command that chose it (``alleycat demo``
# picks a 10 s cadence only where the environment sets none).
_SHELL = (
    variables.HOME,
    variables.STREAM,
    variables.TABLE,
    variables.LAKE_URI,
    variables.S3_ROOT,
    variables.API_URL,
    variables.LIVE_URL,
)


def shell_env(settings: Settings) -> dict[str, str]:
    """The variables ``alleycat env`` exports: boto3 and the AWS CLI go to the stack, and the
    project's commands find its stream, table, lake and API; with the Kafka transport also its
    broker and topic (``alleycat simulate`` then writes there)."""
    stack = settings.local_stack_env()
    env = {**aws_env(settings), **{name: stack[name] for name in _SHELL}}
    if settings.transport == "kafka":
        env.update(
            {
                variables.TRANSPORT: settings.transport,
                variables.KAFKA_BOOTSTRAP: settings.kafka_bootstrap,
                variables.KAFKA_TOPIC: settings.kafka_topic,
            }
        )
    return env


def stack_lake(settings: Settings) -> Lake:
    """The stack's lake. There is no S3 here: its ``s3://`` URIs live under ``settings.local_s3_root``,
    else under the stack's own ``<home>/s3``, the root ``stack_env`` gives every stack process."""
    return Lake(settings.lake_uri, settings.local_s3_root or settings.s3_root)
