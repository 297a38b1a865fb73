-- A racer's progression: every race they rode, oldest first, with their place in it (among the
-- racers of their class in that raceId slot: a race is raceId and classId), their best total so
-- far and the change from their previous race.
-- param: racer_id integer  the racer
WITH placed AS (
    SELECT
        race_id, racer_id, class_id, total_milli, total_output, seconds, finished,
        row_number() OVER (PARTITION BY race_id, class_id ORDER BY total_milli DESC, racer_id) AS place,
        count(*) OVER (PARTITION BY race_id, class_id) AS racers
    FROM alleycat.race_results
)
SELECT
    race_id,
    from_unixtime(race_id * 300) AS started_at,
    class_id, place, racers, total_output, seconds, finished,
    max(total_milli) OVER (ORDER BY race_id ROWS UNBOUNDED PRECEDING) / 1e3 AS best_so_far,
    (total_milli - lag(total_milli) OVER (ORDER BY race_id)) / 1e3 AS change_from_previous
FROM placed
WHERE racer_id = :racer_id
ORDER BY race_id
