"""The Spark session the job runs in: Glue's in AWS Glue, else a local one with the Hudi bundle.

Locally Spark gets the Hudi bundle from ``build/jars/hudi`` (``make setup``), never from the
network. Hudi needs Kryo with its registrator, its SQL extension and catalog; the session time
zone is UTC so dates (the ``dt`` partitions) are the same everywhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark import SparkContext
from pyspark.sql import SparkSession

from alleycat.errors import StackError

HUDI_JAR_DIR = Path(__file__).resolve().parents[1] / "build" / "jars" / "hudi"
HUDI_SPARK_CONF = {
    "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
    "spark.kryo.registrator": "org.apache.spark.HoodieSparkKryoRegistrar",
    "spark.sql.extensions": "org.apache.spark.sql.hudi.HoodieSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.hudi.catalog.HoodieCatalog",
    "spark.sql.session.timeZone": "UTC",
}


def spark_session(app_name: str = "alleycat-lake") -> SparkSession:
    """Glue's session when running in AWS Glue, else a local one with the Hudi bundle."""
    try:
        from awsglue.context import GlueContext  # type: ignore[import-not-found]  # only inside AWS Glue
    except ImportError:
        return local_spark_session(app_name)
    return GlueContext(SparkContext.getOrCreate()).spark_session


def local_spark_session(app_name: str = "alleycat-lake", master: str = "local[2]") -> SparkSession:
    """A local Spark session with the Hudi bundle (the local stack, tests, benchmarks)."""
    jars = sorted(HUDI_JAR_DIR.glob("*.jar"))
    if not jars:
        raise StackError(f"the Hudi Spark bundle is not in {HUDI_JAR_DIR}: run `make setup`")
    # Not configuration but the process environment Spark launches its Python workers with: they
    # must run this interpreter (the venv) to import alleycat like the driver. A local driver's
    # concern, so it lives with the local session; an explicit PYSPARK_PYTHON is left alone.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # Spark binds to 127.0.0.1 already (below); without this it still resolves the machine's
    # address for its own name and warns twice at every start.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.jars", ",".join(str(j) for j in jars))
        .config("spark.driver.memory", "2g")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        # the driver's RPC and block manager listen on loopback only, not the machine's address
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.showConsoleProgress", "false")
        # Hudi sizes its in-memory maps with JOL, which is told neither to attach an agent to this
        # JVM nor to try the Serviceability Agent (this JDK refuses it); it then sizes objects from
        # their field layout and prints two one-line warnings. When it attached itself, some runs
        # printed a whole thread dump of the JVM (the SIGQUIT an attach sends, taken as a dump
        # request) or "Error opening zip file" (its temporary agent jar).
        .config("spark.driver.extraJavaOptions", "-Djol.skipDynamicAttach=true -Djol.skipHotspotSAAttach=true")
    )
    for key, value in HUDI_SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
