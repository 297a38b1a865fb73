-- The races of one day, one row per race (raceId and classId: every class races in each 300 s
-- slot): start, how many rode and finished, the winner and the field's average total.
-- param: day date  the UTC day the races started
WITH placed AS (
    SELECT
        race_id, class_id, racer_id, name, total_milli, finished,
        row_number() OVER (PARTITION BY race_id, class_id ORDER BY total_milli DESC, racer_id) AS place
    FROM alleycat.race_results
    WHERE dt = CAST(:day AS varchar)
)
SELECT
    race_id,
    class_id,
    from_unixtime(race_id * 300) AS started_at,
    count(*) AS racers,
    count_if(finished) AS finishers,
    max_by(racer_id, place = 1) AS winner_id,
    max_by(name, place = 1) AS winner_name,
    max(total_milli) / 1e3 AS winning_total,
    round(avg(total_milli) / 1e3, 3) AS average_total
FROM placed
GROUP BY race_id, class_id
ORDER BY race_id, class_id
