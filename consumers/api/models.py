"""The API's wire format: pydantic models, camelCase field names like the telemetry events."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from alleycat.domain.events import CLASS_IDS


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ErrorBody(Camel):
    error: str = Field(description="a short, stable code, e.g. `not_found`, `invalid_parameter`, `invalid_cursor`")
    message: str = Field(description="what went wrong and what to do about it")


class Health(Camel):
    status: Literal["ok"]


class ClassSummary(Camel):
    class_id: int
    races: str = Field(description="path of the class's recent races")
    leaderboard: str = Field(description="path of the class's all-time leaderboard")


class ClassList(Camel):
    classes: list[ClassSummary]


class RaceSummary(Camel):
    race_id: int
    class_id: int
    status: Literal["live", "completed"]
    started_at: int | None = Field(None, description="epoch milliseconds")
    racers: int | None = Field(None, description="number of racers")
    leaderboard: str = Field(description="path of the race's leaderboard (a race is raceId and classId)")
    live: str = Field(description="path of the race's live standings")


class RaceList(Camel):
    class_id: int
    races: list[RaceSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class LeaderboardEntry(Camel):
    rank: int
    racer_id: int
    name: str
    total_output: float
    avg_output: float
    max_output: float
    seconds: int
    finished: bool

    @classmethod
    def from_item(cls, item: dict[str, Any], rank: int) -> LeaderboardEntry:
        """The entry of a RESULT item (``alleycat.adapters.race_items.result_item``) at ``rank``."""
        return cls(
            rank=rank,
            racer_id=int(item["racerId"]),
            name=item["name"],
            total_output=float(item["totalOutput"]),
            avg_output=float(item["avgOutput"]),
            max_output=float(item["maxOutput"]),
            seconds=int(item["seconds"]),
            finished=bool(item["finished"]),
        )


class RaceLeaderboard(Camel):
    race_id: int
    class_id: int
    entries: list[LeaderboardEntry]
    next_cursor: str | None


class LiveStanding(LeaderboardEntry):
    """A row of the live standings with the rider metrics the pipeline computes
    (``alleycat.domain.scoring``; docs/design.md, "Rider metrics")."""

    last_second: int
    current_output: float = Field(description="output at the racer's last second")
    rolling5_output: float = Field(description="average output per second over the latest 5 s bucket")
    rolling60_output: float = Field(description="average output per second over the latest 60 s (12 buckets)")
    peak5_output: float = Field(description="best 5 s bucket so far, per second")
    peak60_output: float = Field(description="best 60 s so far, per second")
    gap_output: float = Field(description="total output behind the racer ranked just above; 0 for the leader")
    previous_rank: int | None = Field(
        None, description="rank before this change (the live messages only; null here and for a new racer)"
    )


class LiveStandings(Camel):
    race_id: int
    class_id: int
    window_end: str | None = Field(description="end (ISO 8601 UTC) of the last aggregated window")
    version: int
    updated_at: int | None = Field(description="when the standings were written, epoch milliseconds")
    standings: list[LiveStanding]


class ClassBestEntry(Camel):
    rank: int
    racer_id: int
    name: str
    total_output: float
    race_id: int


class ClassLeaderboard(Camel):
    class_id: int
    entries: list[ClassBestEntry]
    next_cursor: str | None


class RacerRace(Camel):
    race_id: int
    class_id: int
    name: str
    rank: int | None = Field(
        description="place in the race (its class's board), stored when the race completes; null while others race"
    )
    total_output: float
    avg_output: float
    max_output: float
    seconds: int
    finished: bool
    leaderboard: str = Field(description="path of the race's leaderboard, in the racer's class")


class RacerRaces(Camel):
    racer_id: int
    races: list[RacerRace]
    next_cursor: str | None


class RacerBest(Camel):
    class_id: int
    name: str
    total_output: float
    race_id: int


class RacerBests(Camel):
    racer_id: int
    bests: list[RacerBest]


class LiveMessage(Camel):
    """What the publisher POSTs to /internal/live (locally) and to IoT Core (on AWS):
    ``consumers.publisher.live_message``, a change from ``baseVersion`` to ``version`` or a resync."""

    model_config = ConfigDict(extra="allow")

    type: Literal["changes", "resync"]
    race_id: int = Field(ge=0)
    class_id: int = Field(
        ge=CLASS_IDS.start, le=CLASS_IDS.stop - 1, description="with raceId, names the race whose subscribers get it"
    )
    window_end: str | None
    version: int = Field(ge=1, description="the LIVE item's version after the change")


class Delivered(Camel):
    subscribers: int = Field(description="how many open streams of this race (raceId, classId) received it")
