"""The live channel: a ``LivePublisher`` port, AWS IoT Core or the local API over HTTP.

``Settings.live_url`` set: POST the message as JSON there (the local API fans it out to SSE
clients); otherwise publish to the race's IoT Core topic (``alleycat.domain.keys.live_topic``: a
race is ``(raceId, classId)``, every class races in every slot). Local delivery is best-effort: if
the API is down the message is logged and dropped (the LIVE item is the truth; clients reload it).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any, Protocol

from alleycat.adapters import aws
from alleycat.domain.events import RaceKey
from alleycat.domain.keys import live_topic
from alleycat.settings import Settings

log = logging.getLogger("alleycat.live_channel")


class LivePublisher(Protocol):
    def publish(self, race: RaceKey, message: dict[str, Any]) -> bool:
        """Send ``message`` on the race's channel. False: dropped (best-effort delivery); raises
        when the channel refused it and the caller should retry."""
        ...


class IotPublisher:
    def __init__(self, iot_data: Any) -> None:
        self.iot_data = iot_data

    def publish(self, race: RaceKey, message: dict[str, Any]) -> bool:
        self.iot_data.publish(topic=live_topic(*race), qos=0, payload=json.dumps(message).encode())
        return True


class HttpPublisher:
    """POSTs to the local API with the stack's token (``Settings.live_token``) as a bearer token."""

    def __init__(self, url: str, token: str | None, timeout_s: float = 2.0) -> None:
        self.url = url
        self.token = token
        self.timeout_s = timeout_s

    def publish(self, race: RaceKey, message: dict[str, Any]) -> bool:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(message).encode(),
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
            method="POST",
        )
        try:
            # bandit B310: the API URL from the settings
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # nosec B310
                response.read()
            return True
        except (urllib.error.URLError, OSError) as exc:
            log.warning(
                "live update dropped: %s",
                exc,
                extra={"raceId": race[0], "classId": race[1], "url": self.url, "error": str(exc)},
            )
            return False


def live_publisher_for(settings: Settings) -> LivePublisher:
    if settings.live_url:
        return HttpPublisher(settings.live_url, settings.live_token)
    return IotPublisher(aws.client("iot-data", settings.region))
