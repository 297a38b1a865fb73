"""The Lambda plumbing of the handlers, from Powertools for AWS Lambda: structured logs, metrics, traces.

Each handler module makes one ``Observability`` for its service and wraps its entry point with
``entry``. The plain function underneath returns a ``Handled``: Lambda's answer and the invocation's
counts, which become CloudWatch metrics in embedded metric format (one EMF line on stdout per
invocation, namespace ``POWERTOOLS_METRICS_NAMESPACE`` or ``Alleycat``).

* Logs: a Powertools ``Logger`` per service (JSON on stdout, the request id and cold start in every
  line when Lambda passes a context).
* Metrics: a fresh ``EphemeralMetrics`` per invocation, so handlers running side by side in one
  process (the local event source mappings) never share or race on a metric set. Powertools
  honours ``POWERTOOLS_METRICS_DISABLED``.
* Traces: a Powertools ``Tracer`` (X-Ray); it disables itself outside Lambda.

The local runtime (``infra.local``) calls these handlers in-process with AWS's event shapes and a
context of its own; the local Firehose passes no context, so none is required.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

NAMESPACE = "Alleycat"  # the template sets POWERTOOLS_METRICS_NAMESPACE to the same

Response = dict[str, Any]
Handler = Callable[[dict[str, Any], Any], Response]


class Handled(NamedTuple):
    """What a handler's plain function returns: Lambda's answer and the invocation's counts."""

    response: Response
    counts: Mapping[str, int]


@dataclass
class Observability:
    """The logger, tracer and metric names of one service (one Lambda function)."""

    service: str
    logger: Logger = field(init=False)
    tracer: Tracer = field(init=False)

    def __post_init__(self) -> None:
        self.logger = Logger(service=self.service)
        self.tracer = Tracer(service=self.service)

    def publish(self, counts: Mapping[str, int]) -> None:
        """The invocation's counts as one EMF document (nothing when metrics are disabled)."""
        metrics = EphemeralMetrics(service=self.service)
        metrics.namespace = metrics.namespace or NAMESPACE
        for name, value in counts.items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        if counts:
            metrics.flush_metrics()

    def entry(self, handle: Callable[[dict[str, Any], Any], Handled]) -> Handler:
        """Lambda's ``handler(event, context)`` around ``handle``: traced, logged with the context,
        its counts published as metrics, its answer returned."""
        # the answer (a window state, batch failures) stays out of the trace: it can exceed what X-Ray keeps
        traced = self.tracer.capture_lambda_handler(handle, capture_response=False)
        with_context = self.logger.inject_lambda_context(traced, clear_state=True)

        def handler(event: dict[str, Any], context: Any) -> Response:
            handled: Handled = (traced if context is None else with_context)(event, context)
            self.publish(handled.counts)
            return handled.response

        handler.__name__ = handler.__qualname__ = "handler"
        handler.__doc__ = handle.__doc__
        return handler
