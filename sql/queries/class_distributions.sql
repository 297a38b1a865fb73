-- Cadence and resistance distributions by class on one day (the races that started that UTC day):
-- quartiles and the 90th percentile of every counted data point, exact (nearest rank: the smallest
-- value that at least that share of the points is at or below).
-- param: day date  the UTC day
-- Cadence and resistance take few distinct values (a bike reports them rounded), so one scan counts
-- the points per value, for both columns at once (two grouping sets), and the percentiles come from
-- running totals over those few thousand counts: a t-digest per column (approx_percentile) would
-- insert all 3 million values one by one, and give approximate answers at that.
WITH counted AS (
    SELECT
        class_id,
        grouping(cadence) = 1 AS of_resistance,
        coalesce(cadence, resistance) AS value,
        count(*) AS n
    FROM alleycat.telemetry
    WHERE dt = CAST(:day AS varchar)
    GROUP BY GROUPING SETS ((class_id, cadence), (class_id, resistance))
),
ranked AS (
    SELECT
        class_id,
        of_resistance,
        value,
        sum(n) OVER (PARTITION BY class_id, of_resistance ORDER BY value) AS up_to,
        sum(n) OVER (PARTITION BY class_id, of_resistance) AS points
    FROM counted
)
SELECT
    class_id,
    max(points) AS points,
    min(value) FILTER (WHERE NOT of_resistance AND up_to >= 0.25 * points) AS cadence_p25,
    min(value) FILTER (WHERE NOT of_resistance AND up_to >= 0.5 * points) AS cadence_p50,
    min(value) FILTER (WHERE NOT of_resistance AND up_to >= 0.75 * points) AS cadence_p75,
    min(value) FILTER (WHERE NOT of_resistance AND up_to >= 0.9 * points) AS cadence_p90,
    min(value) FILTER (WHERE of_resistance AND up_to >= 0.25 * points) AS resistance_p25,
    min(value) FILTER (WHERE of_resistance AND up_to >= 0.5 * points) AS resistance_p50,
    min(value) FILTER (WHERE of_resistance AND up_to >= 0.75 * points) AS resistance_p75,
    min(value) FILTER (WHERE of_resistance AND up_to >= 0.9 * points) AS resistance_p90
FROM ranked
GROUP BY class_id
ORDER BY class_id
