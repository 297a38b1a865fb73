-- A class's all-time top 10: each racer's best race total in the class (the earlier race on a
-- tie), the ten best racers, ties to the lower racer id.
-- param: class_id integer  the class (1..6)
WITH best AS (
    SELECT
        racer_id, name, race_id, total_milli, total_output,
        row_number() OVER (PARTITION BY racer_id ORDER BY total_milli DESC, race_id) AS nth
    FROM alleycat.race_results
    WHERE class_id = :class_id
)
SELECT
    row_number() OVER (ORDER BY total_milli DESC, racer_id) AS place,
    racer_id, name, race_id, total_output
FROM best
WHERE nth = 1
ORDER BY total_milli DESC, racer_id
LIMIT 10
