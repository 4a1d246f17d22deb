from bot import metrics
from bot.limits import Gatekeeper, Limits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_customer_over_the_limit_is_refused_until_the_next_window() -> None:
    clock = Clock()
    gate = Gatekeeper(Limits(per_customer=3, per_address=100, window_seconds=10), clock)
    assert [gate.message_allowed("c1", "10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert gate.message_allowed("c2", "10.0.0.1")  # another customer on the same address is fine
    clock.now += 10
    assert gate.message_allowed("c1", "10.0.0.1")


def test_an_address_over_its_limit_is_refused_for_every_customer_behind_it() -> None:
    gate = Gatekeeper(Limits(per_customer=100, per_address=5, window_seconds=10), Clock())
    allowed = [gate.message_allowed(f"c{n}", "10.0.0.9") for n in range(6)]
    assert allowed == [True] * 5 + [False]
    assert gate.message_allowed("c99", "10.0.0.10")
    assert gate.message_allowed("wechat-user", None)  # WeChat messages come from WeChat's servers


def test_sockets_per_address_are_limited_and_freed() -> None:
    before = metrics.LIMITED.labels("sockets")._value.get()
    gate = Gatekeeper(Limits(sockets_per_address=2))
    assert [gate.socket_opened("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert metrics.LIMITED.labels("sockets")._value.get() == before + 1
    gate.socket_closed("10.0.0.1")
    assert gate.socket_opened("10.0.0.1")
    assert gate.socket_opened("10.0.0.2")
