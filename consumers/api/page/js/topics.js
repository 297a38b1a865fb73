// The live channel's topic names, from the same pattern as alleycat/domain/keys.py
// (LIVE_TOPIC_PATTERN = "alleycat/races/{race_id}/{class_id}/standings"); tests/unit/test_page_iot.py
// checks the two agree.

export const liveTopic = (raceId, classId) => `alleycat/races/${raceId}/${classId}/standings`;
