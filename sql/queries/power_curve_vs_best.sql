-- A racer's power curve in one race against their personal bests: each second's output, their
-- best ever output at that second in the class, the gap (negative: below best) and whether this
-- race set the best. A racer rides one class per raceId slot, so raceId and racerId name their
-- race (its class is the racer's).
-- param: race_id bigint  the slot (floor(start_ms / 300000))
-- param: racer_id integer  the racer
SELECT
    t.second,
    t.output,
    b.output AS best_output,
    (t.output_milli - b.output_milli) / 1e3 AS gap,
    t.output_milli = b.output_milli AS at_best
FROM alleycat.telemetry AS t
LEFT JOIN alleycat.racer_bests AS b
    ON b.racer_id = t.racer_id AND b.class_id = t.class_id AND b.second = t.second
WHERE t.race_id = :race_id AND t.racer_id = :racer_id
ORDER BY t.second
