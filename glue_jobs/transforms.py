"""The rules, in Spark: raw rows -> the rows of ``telemetry``, ``race_results`` and ``racer_bests``.

Each is the Spark form of a rule of ``alleycat.domain`` and yields exactly the catalog's columns
(``alleycat.lake.catalog``), in order, with its types:

* ``winning_points``: the winning message per ``(race_id, racer_id, second)`` (later
  ``device_timestamp``, then larger ``uuid``: ``Telemetry.beats``), with the ordering field
  ``event_order`` = 13-digit deviceTimestamp + "-" + uuid, so a late, older message never
  replaces a newer stored one.
* ``race_results``: one row per racer per race from all of that race's points, in exact integer
  thousandths like ``alleycat.domain.scoring``; ``finished`` never goes back.
* ``racer_best_candidates``: the best output per ``(racer_id, class_id, second)``.

A race is a ``(race_id, class_id)`` pair (``RACE_KEY``): every class races in each 300 s slot
and shares its race_id. ``of_races`` and ``lowered_bests`` select what a batch must recompute.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Row, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType

from alleycat.domain.events import RACE_SECONDS
from alleycat.domain.scoring import RacerScore
from alleycat.lake import catalog

RACE_KEY = ("race_id", "class_id")  # a race (alleycat.domain.events.RaceKey): every class races in each slot


def output_milli(cadence: Column, resistance: Column) -> Column:
    """``alleycat.domain.events.output_milli``: the same float operations, rounded half to even."""
    return F.bround((cadence + 35) * (resistance + 65) * 10).cast("long")


def winning_points(raw: DataFrame) -> DataFrame:
    """One row per data point key among ``raw``: the winning message (``Telemetry.beats``)."""
    key = ("race_id", "racer_id", "second")
    order = Window.partitionBy(*key).orderBy(F.col("device_timestamp").desc(), F.col("uuid").desc())
    milli = output_milli(F.col("cadence"), F.col("resistance"))
    event_order = F.concat(F.lpad(F.col("device_timestamp").cast("string"), 13, "0"), F.lit("-"), F.col("uuid"))
    points = (
        raw.withColumn("final_seen", F.max(F.col("event") == "final").over(Window.partitionBy(*key)))
        .withColumn("_rank", F.row_number().over(order))
        .where(F.col("_rank") == 1)
        .withColumn("output_milli", milli)
        .withColumn("output", milli / 1000)
        .withColumn("event_order", event_order)
        .withColumn("dt", F.from_unixtime(F.col("race_id") * RACE_SECONDS, "yyyy-MM-dd"))
    )
    return conform(points, catalog.TELEMETRY_COLUMNS)


@F.udf(DoubleType())
def _avg_output(total_milli: int, seconds: int) -> float:
    return RacerScore(racer_id=0, name="", class_id=0, total_milli=total_milli, seconds=seconds).avg_output


def race_results(points: DataFrame, previous: DataFrame | None, updated_at: int) -> DataFrame:
    """One row per (race_id, racer_id) from all of those races' ``telemetry`` rows; ``previous``
    (race_id, racer_id, finished) keeps a racer finished once their final arrived.

    A race is (race_id, class_id); a racer rides one class per slot, so (race_id, racer_id) names a
    racer in one race (the table's record key) and ``class_id`` is that race's class."""
    results = points.groupBy("race_id", "racer_id").agg(
        F.max_by("class_id", "second").alias("class_id"),
        F.max_by("name", "second").alias("name"),
        F.sum("output_milli").alias("total_milli"),
        F.max("output_milli").alias("max_milli"),
        F.count(F.lit(1)).alias("seconds"),
        F.max("second").alias("last_second"),
        F.max("final_seen").alias("finished"),
        F.first("dt").alias("dt"),
    )
    if previous is not None:
        results = results.join(
            previous.withColumnRenamed("finished", "was_finished"), ["race_id", "racer_id"], "left"
        ).withColumn("finished", F.col("finished") | F.coalesce(F.col("was_finished"), F.lit(False)))
    results = (
        results.withColumn("total_output", F.col("total_milli") / 1000)
        .withColumn("max_output", F.col("max_milli") / 1000)
        .withColumn("avg_output", _avg_output("total_milli", "seconds"))
        .withColumn("updated_at", F.lit(updated_at))
    )
    return conform(results, catalog.RACE_RESULTS_COLUMNS)


def racer_best_candidates(points: DataFrame) -> DataFrame:
    """The best output per (racer_id, class_id, second) among ``points``."""
    bests = points.groupBy("racer_id", "class_id", "second").agg(F.max("output_milli").alias("output_milli"))
    return conform(bests.withColumn("output", F.col("output_milli") / 1000), catalog.RACER_BESTS_COLUMNS)


def upserted_points(stored: DataFrame, points: DataFrame) -> DataFrame:
    """The ``telemetry`` rows of the touched races as upserting ``points`` over ``stored`` (those
    races' rows before it) leaves them: per key the larger ``event_order``, on a tie the incoming
    row, as ``DefaultHoodieRecordPayload`` decides. Computed here, so the job does not read back
    what it has just written."""
    key = ("race_id", "racer_id", "second")
    both = stored.withColumn("_incoming", F.lit(0)).unionByName(points.withColumn("_incoming", F.lit(1)))
    order = Window.partitionBy(*key).orderBy(F.col("event_order").desc(), F.col("_incoming").desc())
    kept = both.withColumn("_rank", F.row_number().over(order)).where(F.col("_rank") == 1)
    return conform(kept, catalog.TELEMETRY_COLUMNS)


def raised_bests(candidates: DataFrame, stored: DataFrame) -> DataFrame:
    """The ``candidates`` (``racer_best_candidates``) above the ``stored`` best at their key, or
    without one: all the "only if higher" upsert would change. The rest would be rejected row by
    row inside Hudi's write, after its index lookup and merge had paid for them."""
    key = ["racer_id", "class_id", "second"]
    was = stored.select(*key, F.col("output_milli").alias("was_milli"))
    raised = candidates.join(was, key, "left").where(
        F.col("was_milli").isNull() | (F.col("output_milli") > F.col("was_milli"))
    )
    return conform(raised, catalog.RACER_BESTS_COLUMNS)


def conform(df: DataFrame, columns: tuple[catalog.Column, ...]) -> DataFrame:
    """Exactly the catalog's columns, in order, with the catalog's types."""
    return df.select([F.col(c.name).cast(c.type).alias(c.name) for c in columns])


def of_races(spark: SparkSession, rows: DataFrame, touched: list[Row]) -> DataFrame:
    """The rows of ``rows`` (a table partitioned by dt, class_id) that belong to exactly the races
    (race_id, class_id) in ``touched``: the partition filters prune the files, the semi-join keeps
    only the touched pairs (a batch touching (r1, c1) and (r2, c2) does not read (r1, c2))."""
    races = spark.createDataFrame(sorted({(r.race_id, r.class_id) for r in touched}), "race_id bigint, class_id int")
    pruned = rows.where(
        F.col("dt").isin(sorted({r.dt for r in touched}))
        & F.col("class_id").isin(sorted({r.class_id for r in touched}))
        & F.col("race_id").isin(sorted({r.race_id for r in touched}))
    )
    return pruned.join(F.broadcast(races), list(RACE_KEY), "left_semi")


def lowered_bests(points: DataFrame, stored: DataFrame) -> list[Row]:
    """(racer_id, class_id, second) where a new winner replaces a stored one with a lower output.

    Bests are upserted "only if higher", which is exact while winners only rise; these rare keys
    are recomputed from the whole history instead (``glue_jobs.batch.recompute_bests``)."""
    key = ["race_id", "racer_id", "second"]
    before = stored.select(*key, F.col("event_order").alias("was_order"), F.col("output_milli").alias("was_milli"))
    replaced = points.join(before, key).where(
        (F.col("event_order") > F.col("was_order")) & (F.col("output_milli") < F.col("was_milli"))
    )
    return replaced.select("racer_id", "class_id", "second").distinct().collect()
