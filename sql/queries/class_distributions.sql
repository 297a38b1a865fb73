-- Cadence and resistance distributions by class on one day (the races that started that UTC day):
-- quartiles and the 90th percentile of every counted data point.
-- param: day date  the UTC day
-- One digest per column (the ARRAY form) answers all four percentiles: a digest per percentile
-- would read and sort every value four times over.
WITH digests AS (
    SELECT
        class_id,
        count(*) AS points,
        approx_percentile(cadence, ARRAY[0.25, 0.5, 0.75, 0.9]) AS cadence,
        approx_percentile(resistance, ARRAY[0.25, 0.5, 0.75, 0.9]) AS resistance
    FROM alleycat.telemetry
    WHERE dt = CAST(:day AS varchar)
    GROUP BY class_id
)
SELECT
    class_id,
    points,
    cadence[1] AS cadence_p25,
    cadence[2] AS cadence_p50,
    cadence[3] AS cadence_p75,
    cadence[4] AS cadence_p90,
    resistance[1] AS resistance_p25,
    resistance[2] AS resistance_p50,
    resistance[3] AS resistance_p75,
    resistance[4] AS resistance_p90
FROM digests
ORDER BY class_id
