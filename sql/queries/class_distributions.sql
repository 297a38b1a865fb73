-- Cadence and resistance distributions by class on one day (the races that started that UTC day):
-- quartiles and the 90th percentile of every counted data point.
-- param: day date  the UTC day
SELECT
    class_id,
    count(*) AS points,
    approx_percentile(cadence, 0.25) AS cadence_p25,
    approx_percentile(cadence, 0.5) AS cadence_p50,
    approx_percentile(cadence, 0.75) AS cadence_p75,
    approx_percentile(cadence, 0.9) AS cadence_p90,
    approx_percentile(resistance, 0.25) AS resistance_p25,
    approx_percentile(resistance, 0.5) AS resistance_p50,
    approx_percentile(resistance, 0.75) AS resistance_p75,
    approx_percentile(resistance, 0.9) AS resistance_p90
FROM alleycat.telemetry
WHERE dt = CAST(:day AS varchar)
GROUP BY class_id
ORDER BY class_id
