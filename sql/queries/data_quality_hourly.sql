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
WITH raw AS (
    SELECT race_id, racer_id, second, device_timestamp, arrival_timestamp
    FROM alleycat.raw_telemetry
    WHERE dt IN (CAST(:day AS varchar), CAST(:day - INTERVAL '1' DAY AS varchar))
),
-- A data point's first delivery is its earliest arrival (a tie on the millisecond does not change
-- the hour it counts in), so the rest of its deliveries are the duplicates: one aggregation by
-- point, where ranking every delivery would sort them all.
firsts AS (
    SELECT race_id, racer_id, second, min(arrival_timestamp) AS arrival_timestamp
    FROM raw
    GROUP BY race_id, racer_id, second
),
first_hours AS (
    SELECT
        hour(from_unixtime(f.arrival_timestamp / 1e3)) AS hour,
        count(*) AS firsts,
        count_if(t.racer_id IS NULL) AS missing
    FROM firsts AS f
    LEFT JOIN alleycat.telemetry AS t
        ON t.race_id = f.race_id AND t.racer_id = f.racer_id AND t.second = f.second
    WHERE CAST(from_unixtime(f.arrival_timestamp / 1e3) AS date) = :day
    GROUP BY 1
),
delivered AS (
    SELECT
        hour(from_unixtime(arrival_timestamp / 1e3)) AS hour,
        count(*) AS delivered,
        count_if(arrival_timestamp - device_timestamp > :late_ms) AS late
    FROM raw
    WHERE CAST(from_unixtime(arrival_timestamp / 1e3) AS date) = :day
    GROUP BY 1
),
counted AS (
    SELECT
        hour, d.delivered, d.delivered - coalesce(f.firsts, 0) AS duplicates, d.late,
        coalesce(f.missing, 0) AS missing
    FROM delivered AS d
    LEFT JOIN first_hours AS f USING (hour)
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
