-- Race podium: the top three of one race by total output, ties to the lower racer id (the
-- leaderboard's order, alleycat.domain.scoring.rank). A race is a raceId and a classId: all six
-- classes race in every 300 s slot and share its raceId.
-- param: race_id bigint  the slot (floor(start_ms / 300000))
-- param: class_id integer  the class (1..6)
SELECT place, racer_id, name, class_id, total_output, avg_output, max_output, seconds, finished
FROM (
    SELECT
        row_number() OVER (ORDER BY total_milli DESC, racer_id) AS place,
        racer_id, name, class_id, total_output, avg_output, max_output, seconds, finished
    FROM alleycat.race_results
    WHERE race_id = :race_id AND class_id = :class_id
) AS ranked
WHERE place <= 3
ORDER BY place
