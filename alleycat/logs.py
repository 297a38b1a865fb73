"""Structured logging: one JSON object per line, with the ``extra`` fields kept.

Lambda and Glue ship stdout/stderr to CloudWatch Logs, where these lines are queryable with Logs
Insights; locally they go to the terminal or to ``<home>/logs``.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import time

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def setup(level: str = "WARNING") -> None:
    """Configure the root logger once (idempotent). ``level``: from ``Settings.log_level`` at the edge."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers = [handler]
    root.setLevel(level.upper())
    # The handlers' Powertools loggers write to stdout, this one to stderr. When both go to one file
    # (a local worker's log), a block-buffered stdout would flush half lines between stderr's lines.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
