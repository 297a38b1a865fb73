"""The live channel: a ``LivePublisher`` port, AWS IoT Core or the local API over HTTP.

``ALLEYCAT_LIVE_URL`` set: POST the message as JSON there (the local API fans it out to SSE
clients); otherwise publish to the IoT Core topic ``alleycat/races/<raceId>/<classId>/standings``
(a race is ``(raceId, classId)``: every class races in every slot). Local
delivery is best-effort: if the API is down the message is logged and dropped (the LIVE item is
the truth; clients reload it).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from functools import cache
from typing import Any, Protocol

from alleycat.adapters import aws
from alleycat.domain.events import RaceKey

log = logging.getLogger("alleycat.consumers.publish")


def topic(race_id: int, class_id: int) -> str:
    """The IoT Core topic of race ``(race_id, class_id)``'s live standings."""
    return f"alleycat/races/{race_id}/{class_id}/standings"


class LivePublisher(Protocol):
    def publish(self, race: RaceKey, message: dict[str, Any]) -> bool: ...


class IotPublisher:
    def publish(self, race: RaceKey, message: dict[str, Any]) -> bool:
        aws.client("iot-data").publish(topic=topic(*race), qos=0, payload=json.dumps(message).encode())
        return True


class HttpPublisher:
    def __init__(self, url: str, timeout_s: float = 2.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def publish(self, race: RaceKey, message: dict[str, Any]) -> bool:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(message).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
            return True
        except (urllib.error.URLError, OSError) as exc:
            log.warning(
                "live update dropped",
                extra={"raceId": race[0], "classId": race[1], "url": self.url, "error": str(exc)},
            )
            return False


@cache
def live_publisher() -> LivePublisher:
    url = os.environ.get("ALLEYCAT_LIVE_URL")
    return HttpPublisher(url) if url else IotPublisher()
