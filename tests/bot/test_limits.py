import asyncio
from collections.abc import Callable, Iterator

import pytest

from bot import metrics
from bot.limits import Gatekeeper, Limits
from bot.replicas import Alone, Together
from tests.services import running_redis


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with running_redis() as server:
        yield server.url


@pytest.fixture(params=["alone", "replicas"])
def counter(request: pytest.FixtureRequest) -> Callable[[], Alone]:
    """Windows counted by one gateway in memory, or by replicas in a real Redis."""
    if request.param == "alone":
        return Alone
    url = request.getfixturevalue("redis_url")
    return lambda: Together(url)


async def allowed(gate: Gatekeeper, messages: list[tuple[str, str | None]]) -> list[bool]:
    return [await gate.message_allowed(customer, address) for customer, address in messages]


def test_a_customer_over_the_limit_is_refused_until_the_next_window(counter: Callable[[], Alone]) -> None:
    async def scenario() -> None:
        clock = Clock()
        gate = Gatekeeper(Limits(per_customer=3, per_address=100, window_seconds=10), counter(), clock)
        assert await allowed(gate, [("c1", "10.0.0.1")] * 4) == [True, True, True, False]
        assert await allowed(gate, [("c2", "10.0.0.1")]) == [True]  # another customer, same address
        clock.now += 10
        assert await allowed(gate, [("c1", "10.0.0.1")]) == [True]

    asyncio.run(scenario())


def test_an_address_over_its_limit_is_refused_for_every_customer_behind_it(
    counter: Callable[[], Alone],
) -> None:
    async def scenario() -> None:
        gate = Gatekeeper(Limits(per_customer=100, per_address=5, window_seconds=10), counter(), Clock())
        assert await allowed(gate, [(f"c{n}", "10.0.0.9") for n in range(6)]) == [True] * 5 + [False]
        assert await allowed(gate, [("c99", "10.0.0.10")]) == [True]
        assert await allowed(gate, [("wechat-user", None)]) == [True]  # WeChat's servers send those

    asyncio.run(scenario())


def test_replicas_count_one_customer_together(redis_url: str) -> None:
    """A flood spread over two gateway replicas is one flood."""

    async def scenario() -> list[bool]:
        clock, limits = Clock(), Limits(per_customer=4, window_seconds=10)
        first, second = (Gatekeeper(limits, Together(redis_url), clock) for _ in range(2))
        return await allowed(first, [("shared", None)] * 2) + await allowed(second, [("shared", None)] * 3)

    assert asyncio.run(scenario()) == [True] * 4 + [False]


def test_without_redis_each_replica_still_limits_on_its_own() -> None:
    async def scenario() -> list[bool]:
        unreachable = Together("redis://127.0.0.1:1/0")
        return await allowed(
            Gatekeeper(Limits(per_customer=2, window_seconds=10), unreachable, Clock()), [("c1", None)] * 3
        )

    assert asyncio.run(scenario()) == [True, True, False]


def test_sockets_per_address_are_limited_and_freed() -> None:
    before = metrics.LIMITED.labels("sockets")._value.get()
    gate = Gatekeeper(Limits(sockets_per_address=2), Alone())
    assert [gate.socket_opened("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert metrics.LIMITED.labels("sockets")._value.get() == before + 1
    gate.socket_closed("10.0.0.1")
    assert gate.socket_opened("10.0.0.1")
    assert gate.socket_opened("10.0.0.2")
