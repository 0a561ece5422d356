from handler.core.deadline import Deadline


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_remaining_counts_down_to_zero_and_never_below() -> None:
    clock = FakeClock()
    deadline = Deadline.after(5, clock)
    assert (deadline.remaining(), deadline.expired) == (5, False)
    clock.now += 4.5
    assert deadline.remaining() == 0.5
    clock.now += 10
    assert (deadline.remaining(), deadline.expired) == (0, True)


def test_a_negative_budget_is_already_expired() -> None:
    assert Deadline.after(-1, FakeClock()).expired
