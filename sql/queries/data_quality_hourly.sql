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
    SELECT
        race_id, racer_id, second, device_timestamp, arrival_timestamp,
        row_number() OVER (
            PARTITION BY race_id, racer_id, second ORDER BY arrival_timestamp, uuid
        ) AS arrival_rank
    FROM alleycat.raw_telemetry
    WHERE dt IN (CAST(:day AS varchar), CAST(:day - INTERVAL '1' DAY AS varchar))
),
delivered AS (
    SELECT
        hour(from_unixtime(r.arrival_timestamp / 1e3)) AS hour,
        count(*) AS delivered,
        count_if(r.arrival_rank > 1) AS duplicates,
        count_if(r.arrival_timestamp - r.device_timestamp > :late_ms) AS late,
        count_if(r.arrival_rank = 1 AND t.racer_id IS NULL) AS missing
    FROM raw AS r
    LEFT JOIN alleycat.telemetry AS t
        ON t.race_id = r.race_id AND t.racer_id = r.racer_id AND t.second = r.second
    WHERE CAST(from_unixtime(r.arrival_timestamp / 1e3) AS date) = :day
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
FROM delivered AS d
FULL OUTER JOIN malformed AS m USING (hour)
ORDER BY hour
