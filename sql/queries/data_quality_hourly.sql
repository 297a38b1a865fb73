-- Data quality per arrival hour (UTC) of one day, for the records the stream delivered:
--   delivered      valid messages in the raw table (retries and resends included)
--   duplicates     delivered rows that were not the first to arrive for their data point
--                  (raceId, racerId, second): retried messages and resent points
--   late           delivered rows that arrived more than :late_ms after their deviceTimestamp
--   missing        data points delivered this hour that telemetry (the Hudi table) lacks
--   malformed      records Firehose rejected (processing_failed: its JSON error records, one per
--                  rejected record), counted against delivered + malformed
-- Raw partitions are by device time, so the day before is read too (late arrivals).
-- param: day date  the UTC day of arrival
-- param: late_ms bigint  how late is late, in milliseconds
WITH
-- A data point is one bit of a bigint: a racer's seconds 64 b .. 64 b + 63 of a race (its block b,
-- second / 64; seconds are positive) share one, so a day's millions of points are counted exactly
-- (bitwise_or_agg, bit_count) in groups of up to 64, where grouping by point hashes every point:
-- on 2 cores, a quarter of the time for a 3-million-row day (docs/sql.md).
raw AS (
    SELECT
        race_id, racer_id, device_timestamp, arrival_timestamp,
        second / 64 AS block,
        bitwise_left_shift(BIGINT '1', second % 64) AS point
    FROM alleycat.raw_telemetry
    WHERE dt IN (CAST(:day AS varchar), CAST(:day - INTERVAL '1' DAY AS varchar))
),
-- The points of each block delivered in each hour since the epoch, and the rows that delivered them.
deliveries AS (
    SELECT
        race_id, racer_id, block, arrival_timestamp / 3600000 AS epoch_hour,
        bitwise_or_agg(point) AS points,
        count(*) AS delivered,
        count_if(arrival_timestamp - device_timestamp > :late_ms) AS late
    FROM raw
    GROUP BY 1, 2, 3, 4
),
-- A point's first delivery is in the earliest hour that delivered it (a tie on the millisecond does
-- not change that hour), so an hour's firsts are its points that no earlier hour delivered.
firsts AS (
    SELECT
        *,
        bitwise_and(points, bitwise_not(coalesce(bitwise_or_agg(points) OVER (
            PARTITION BY race_id, racer_id, block ORDER BY epoch_hour
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ), 0))) AS firsts
    FROM deliveries
),
stored AS (
    SELECT
        race_id, racer_id, second / 64 AS block,
        bitwise_or_agg(bitwise_left_shift(BIGINT '1', second % 64)) AS points
    FROM alleycat.telemetry
    GROUP BY 1, 2, 3
),
counted AS (
    SELECT
        hour(from_unixtime(f.epoch_hour * 3600)) AS hour,
        sum(f.delivered) AS delivered,
        sum(f.delivered - bit_count(f.firsts, 64)) AS duplicates,
        sum(f.late) AS late,
        sum(bit_count(bitwise_and(f.firsts, bitwise_not(coalesce(s.points, 0))), 64)) AS missing
    FROM firsts AS f
    LEFT JOIN stored AS s ON s.race_id = f.race_id AND s.racer_id = f.racer_id AND s.block = f.block
    WHERE CAST(from_unixtime(f.epoch_hour * 3600) AS date) = :day
    GROUP BY 1
),
malformed AS (
    SELECT hour(from_unixtime(arrival_timestamp / 1e3)) AS hour, count(*) AS malformed
    FROM alleycat.processing_failed
    WHERE CAST(from_unixtime(arrival_timestamp / 1e3) AS date) = :day
    GROUP BY 1
)
SELECT
    hour,
    coalesce(d.delivered, 0) AS delivered,
    coalesce(d.duplicates, 0) AS duplicates,
    coalesce(d.late, 0) AS late,
    coalesce(d.missing, 0) AS missing,
    coalesce(m.malformed, 0) AS malformed,
    round(coalesce(d.duplicates, 0) / CAST(nullif(d.delivered, 0) AS double), 6) AS duplicate_rate,
    round(coalesce(d.late, 0) / CAST(nullif(d.delivered, 0) AS double), 6) AS late_rate,
    round(
        coalesce(m.malformed, 0) / CAST(coalesce(d.delivered, 0) + coalesce(m.malformed, 0) AS double), 6
    ) AS malformed_rate
FROM counted AS d
FULL OUTER JOIN malformed AS m USING (hour)
ORDER BY hour
