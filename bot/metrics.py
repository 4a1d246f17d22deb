"""Prometheus metrics: what operators watch (``/metrics`` on the gateway and the action server).

Each process exposes its own registry; Prometheus scrapes every replica and sums. Latency is
recorded per stage so a slow answer can be located: ``gateway`` (a customer message in → replies
out, everything included), ``rasa`` (the gateway's call to the Rasa server: NLU, dialogue and the
actions it runs), ``action`` (one custom action on the action server), ``kb_search`` (one
knowledge-base retrieval inside an action).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

# 5 ms … 30 s: a KB search takes milliseconds, a first message of a session a few seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

MESSAGES = Counter("bankbot_messages_total", "Customer messages received", ["channel", "outcome"])
STAGE_SECONDS = Histogram(
    "bankbot_stage_seconds", "Time spent per processing stage", ["stage"], buckets=BUCKETS
)
ACTION_SECONDS = Histogram(
    "bankbot_action_seconds", "Custom action run time on the action server", ["action"], buckets=BUCKETS
)
HANDOFFS = Counter("bankbot_handoffs_total", "Conversations handed to the service desk", ["reason", "skill"])
ERRORS = Counter("bankbot_errors_total", "Failures answered with an apology or refused", ["kind"])
QUEUE_LENGTH = Gauge("bankbot_queue_length", "Conversations waiting for or with an agent", ["status"])
LIMITED = Counter("bankbot_rate_limited_total", "Requests refused by an abuse limit", ["limit"])

EXPOSITION_TYPE = CONTENT_TYPE_LATEST


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Record the block's duration under ``stage`` (also when it raises: failures are slow too)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(stage).observe(time.perf_counter() - started)


def exposition() -> bytes:
    """The registry in Prometheus' text format."""
    return generate_latest()
