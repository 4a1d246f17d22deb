"""Abuse limits at the gateway: one client's flood must not slow anyone else down.

Messages are counted per customer (conversation id, WeChat openid) and per client address in fixed
windows; a message over a limit gets a polite notice at once and never reaches Rasa, so a flood costs
the assistant almost nothing. Web chat sockets are also limited per address. Customer messages are
rare (a person types one every few seconds), so the defaults leave real customers far from a limit;
offices behind one NAT address share the larger per-address budget.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from bot import metrics
from bot.replicas import Alone


@dataclass(frozen=True)
class Limits:
    per_customer: int = 12  # messages per window and conversation
    per_address: int = 300  # messages per window and client address
    window_seconds: int = 10
    sockets_per_address: int = 50


class Gatekeeper:
    """Message windows are counted where the replicas share state (``bot.replicas``); open sockets
    per replica (a load balancer limits connections per address across replicas)."""

    def __init__(self, limits: Limits, counter: Alone, clock: Callable[[], float] = time.time) -> None:
        self.limits, self.counter, self.clock = limits, counter, clock
        self.sockets: Counter[str] = Counter()

    async def message_allowed(self, customer: str, address: str | None) -> bool:
        """Count a message; False when its customer or its address is over the limit."""
        window = int(self.clock() // self.limits.window_seconds)
        if await self.counter.count(window, f"customer:{customer}") > self.limits.per_customer:
            metrics.LIMITED.labels("customer").inc()
            return False
        if address and await self.counter.count(window, f"address:{address}") > self.limits.per_address:
            metrics.LIMITED.labels("address").inc()
            return False
        return True

    def socket_opened(self, address: str) -> bool:
        """Count an open socket; False (and not counted) beyond the per-address limit."""
        if self.sockets[address] >= self.limits.sockets_per_address:
            metrics.LIMITED.labels("sockets").inc()
            return False
        self.sockets[address] += 1
        return True

    def socket_closed(self, address: str) -> None:
        self.sockets[address] -= 1
        if self.sockets[address] <= 0:
            del self.sockets[address]
