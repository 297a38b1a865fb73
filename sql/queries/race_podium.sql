-- Race podium: the top three of one race by total output, ties to the lower racer id (the
-- leaderboard's order, alleycat.domain.scoring.rank).
-- param: race_id bigint  the race (floor(start_ms / 300000))
SELECT place, racer_id, name, class_id, total_output, avg_output, max_output, seconds, finished
FROM (
    SELECT
        row_number() OVER (ORDER BY total_milli DESC, racer_id) AS place,
        racer_id, name, class_id, total_output, avg_output, max_output, seconds, finished
    FROM alleycat.race_results
    WHERE race_id = :race_id
) AS ranked
WHERE place <= 3
ORDER BY place
