-- Pipeline freshness: for each stage, the newest data it holds and how far behind now it is.
--   raw_telemetry  newest Kinesis arrival Firehose delivered
--   telemetry      newest data point (device time) the Glue job has written, and its last Hudi commit
--   race_results   newest recomputation (updated_at)
SELECT stage, newest_ms, last_commit, date_diff('second', from_unixtime(newest_ms / 1e3), now()) AS lag_seconds
FROM (
    SELECT 'raw_telemetry' AS stage, max(arrival_timestamp) AS newest_ms, CAST(NULL AS varchar) AS last_commit
    FROM alleycat.raw_telemetry
    UNION ALL
    SELECT 'telemetry', max(device_timestamp), max(_hoodie_commit_time)
    FROM alleycat.telemetry
    UNION ALL
    SELECT 'race_results', max(updated_at), max(_hoodie_commit_time)
    FROM alleycat.race_results
) AS stages
ORDER BY stage
