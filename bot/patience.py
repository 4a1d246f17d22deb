"""Waiting out a dependency that is briefly away (a database restart or fail-over) instead of failing.

A customer's message that arrives while PostgreSQL restarts should be answered a few seconds late,
not apologised for and dropped. Callers retry only steps that change nothing when they fail.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

PATIENCE_SECONDS = 20.0  # a PostgreSQL restart or fail-over takes a few seconds
FIRST_PAUSE_SECONDS, LONGEST_PAUSE_SECONDS = 0.25, 2.0
T = TypeVar("T")


async def patiently(
    call: Callable[[], Awaitable[T]],
    failures: tuple[type[Exception], ...],
    what: str,
    patience: float = PATIENCE_SECONDS,
) -> T:
    """``call()``, retried with growing pauses while it raises one of ``failures``, for ``patience`` s."""
    deadline, pause = time.monotonic() + patience, FIRST_PAUSE_SECONDS
    while True:
        try:
            return await call()
        except failures as error:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("%s failed, retrying in %.2f s: %s", what, pause, error)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
