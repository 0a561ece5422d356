"""GET /v1/usage's days, split by model (the console's charts)."""

from handler.core.records.charges import Charge, UsageRecord
from handler.money.usage import UsageTotals, by_day, by_day_and_model

DAY_MS = 86_400_000


def _record(model: str, at_ms: int, n: int, delivered: int) -> UsageRecord:
    charge = Charge(f"req_{model}_{at_ms}", model, "256x256", n, 100, at_ms)
    return UsageRecord("k", charge, delivered, "succeeded" if delivered else "failed", at_ms)


def test_each_day_holds_each_models_own_counts() -> None:
    records = [
        _record("b", DAY_MS + 5, 2, 2),
        _record("a", 10, 1, 1),
        _record("b", 20, 3, 0),
        _record("a", DAY_MS + 1, 4, 4),
    ]
    days = by_day_and_model(records)
    assert list(days) == ["1970-01-01", "1970-01-02"]
    assert list(days["1970-01-01"]) == ["a", "b"]
    assert days["1970-01-01"]["b"] == UsageTotals(
        requests=1, images=0, charged=0, refunded=300, failed=1
    )
    assert days["1970-01-02"]["a"].images == 4
    # and the day's own totals, which GET /v1/usage shows beside them
    day = by_day(records)["1970-01-02", "k"]
    assert (day.requests, day.images, day.charged) == (2, 6, 600)
