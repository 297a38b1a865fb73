"""The heap a long-lived server starts with, kept out of the cyclic collector's full passes.

A full (generation 2) collection walks every tracked object: the API process held 156,000-162,000
under load, 101,000 of them made at start-up (FastAPI, pydantic, botocore's service models). One
full pass stopped every request in flight for 105-181 ms on the 2-core machine (`python -m bench
api` with a ``gc.callbacks`` probe): a spike at the p99 each time. ``gc.freeze()`` moves the
start-up objects to a permanent generation (they live as long as the process anyway); the full
passes left walked at most 22,000 objects and took at most 15 ms.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Exempt every object alive now from future collections: call it once, when start-up is done.

    No ``gc.collect()`` first: after ``create_app`` it found nothing to free, and took 69 ms.
    """
    gc.freeze()
