"""After a commit, the lake corrects the real-time path's RESULT and BEST items.

The real-time path counts the first message it sees for a racer's second; a different message for
the same second that arrives in a later window cannot replace it there (the window state is gone).
The lake applies the rule (later deviceTimestamp wins) over everything it ever received, so after
each micro-batch the touched races' ``race_results`` rows of finished racers are written back:

* RESULT: the lake's row, put as is (the same item FinalResults writes; idempotent).
* BEST: for each of those racers, the best ``race_results`` total over every race of theirs in the
  class that the lake holds. It replaces the stored BEST when it is higher, or when the stored one
  comes from a race the lake holds (then the lake knows that race's correct total); a BEST from a
  race not yet in the lake is only ever raised, as FinalResults does.

The bound on a wrong final result is therefore the lake's freshness (one trigger plus Firehose's
buffer). RESULT items FinalResults writes later for the same race (a later LIVE change) come from
messages the lake commits afterwards, so the lake has the last word.
"""

from __future__ import annotations

import logging

from pyspark.sql import Row, SparkSession
from pyspark.sql import functions as F

from alleycat.adapters import aws
from alleycat.adapters.race_items import result_item
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain.scoring import RacerScore
from glue_jobs.config import JobConfig
from glue_jobs.hudi_tables import read_table
from glue_jobs.transforms import of_races

log = logging.getLogger("alleycat.lake.job")

COLUMNS = ("race_id", "racer_id", "class_id", "name", "total_milli", "max_output", "seconds", "last_second")


def _score(row: Row) -> RacerScore:
    return RacerScore(
        racer_id=row.racer_id,
        name=row.name,
        class_id=row.class_id,
        total_milli=int(row.total_milli),
        max_milli=round(row.max_output * 1000),  # max_output is max_milli / 1000: exact back
        seconds=row.seconds,
        last_second=row.last_second,
        finished=True,
    )


def reconcile(spark: SparkSession, config: JobConfig, touched: list[Row], updated_at: int) -> tuple[int, int]:
    """Write the touched races' finished results and their racers' class bests to
    ``config.results_table``. Returns (results written, bests changed)."""
    results = read_table(spark, config.table("race_results"))
    finished = of_races(spark, results, touched).where(F.col("finished")).select(*COLUMNS).collect()
    if not finished:
        return 0, 0
    table = DynamoRaceTable(aws.patient_resource("dynamodb").Table(config.results_table))
    written = table.write_results([result_item(r.race_id, _score(r), updated_at) for r in finished])
    racers = sorted({r.racer_id for r in finished})
    classes = sorted({r.class_id for r in finished})
    history = (
        results.where(F.col("finished") & F.col("racer_id").isin(racers) & F.col("class_id").isin(classes))
        .select(*COLUMNS)
        .collect()
    )
    by_racer: dict[tuple[int, int], list[Row]] = {}
    for row in history:
        by_racer.setdefault((row.racer_id, row.class_id), []).append(row)
    changed = 0
    for rows in by_racer.values():
        best = max(rows, key=lambda r: (r.total_milli, -r.race_id))  # ties: the earlier race keeps it
        changed += table.reconcile_best(best.race_id, _score(best), sorted({r.race_id for r in rows}), updated_at)
    log.info("results reconciled", extra={"results": written, "bests_changed": changed, "racers": len(racers)})
    return written, changed
