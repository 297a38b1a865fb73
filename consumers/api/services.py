"""What the routes work with, built once per app by ``create_app`` and reached through FastAPI
dependencies: ``Annotated[Store, Depends(store)]`` (``StoreDep``) and the like.

The objects hang off ``app.state.services``, not module globals, so two apps in one process (tests,
the Lambda app and a local one) never share a store, a cache or a hub. The accessors are ``async``:
FastAPI runs a plain ``def`` dependency in its thread pool, a hop each request would pay for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from alleycat.settings import Settings
from consumers.api.exports import BestsExports
from consumers.api.live import LiveHub
from consumers.api.response_cache import ResponseCache
from consumers.api.store import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    exports: BestsExports
    hub: LiveHub
    answers: ResponseCache
    live_push: bool  # the in-process SSE channel is served (local); on Lambda IoT Core pushes instead


async def _services(request: Request) -> Services:
    """The services of the app serving ``request``."""
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(_services)]


async def _store(services: ServicesDep) -> Store:
    return services.store


async def _exports(services: ServicesDep) -> BestsExports:
    return services.exports


async def _hub(services: ServicesDep) -> LiveHub:
    return services.hub


async def _answers(services: ServicesDep) -> ResponseCache:
    return services.answers


StoreDep = Annotated[Store, Depends(_store)]
ExportsDep = Annotated[BestsExports, Depends(_exports)]
HubDep = Annotated[LiveHub, Depends(_hub)]
AnswersDep = Annotated[ResponseCache, Depends(_answers)]
