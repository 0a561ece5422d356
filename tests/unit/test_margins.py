"""What requests earned the operator, from the ledger's settled entries, and the loss the
NegativeMargin alarm sums."""

import json

import pytest

from handler.api.schemas_report import MarginReport
from handler.core.records.ledger import EntryKind, LedgerEntry
from handler.money.margins import Margins
from handler.observability import record_spend


def _settled(
    amount: int,
    cost: int | None,
    *,
    model: str = "m",
    placement: str | None = "p",
    account: str = "a",
) -> LedgerEntry:
    kind: EntryKind = "charge" if amount else "refund"
    return LedgerEntry(
        account,
        kind,
        -amount,
        1,
        f"r{amount}{cost}",
        "imagegate",
        model=model,
        reserved=amount or 10,
        refunded=0,
        placement=placement,
        operator_cost=cost,
    )


def test_margins_sum_revenue_and_cost_by_model_placement_and_account() -> None:
    margins = Margins()
    for entry in (
        _settled(100, 30),
        _settled(100, 130, placement="q", account="b"),  # delivered at a loss
        _settled(0, 20, placement="q", account="b"),  # failed after its GPU ran: a refund
        _settled(50, None, model="n", placement=None),  # settled before costs were kept
        LedgerEntry("a", "topup", 1_000, 1, "t", "admin", source="admin"),  # not a request
    ):
        margins.add(entry)
    assert (margins.totals.revenue, margins.totals.cost, margins.totals.requests) == (250, 180, 4)
    assert margins.totals.margin == 70
    assert {k: (v.revenue, v.cost) for k, v in margins.by_placement.items()} == {
        ("m", "p"): (100, 30),
        ("m", "q"): (100, 150),
        ("n", None): (50, 0),
    }
    assert {k: v.margin for k, v in margins.by_account.items()} == {"a": 120, "b": -50}
    assert {k: v.requests for k, v in margins.by_model.items()} == {"m": 3, "n": 1}


def test_the_report_lists_losses_first() -> None:
    margins = Margins()
    for entry in (_settled(100, 30), _settled(100, 150, placement="q"), _settled(9, 0, model="n")):
        margins.add(entry)
    report = MarginReport.of(margins)
    assert [(row.model, row.placement, row.margin) for row in report.by_placement] == [
        ("m", "q", -50),
        ("n", "p", 9),
        ("m", "p", 70),
    ]
    assert [(row.model, row.margin) for row in report.by_model] == [("n", 9), ("m", 20)]


@pytest.mark.parametrize(
    ("charged", "cost", "loss"),
    [(100, 130, 30), (100, 60, 0), (0, 40, 0)],  # a failed request's cost is no price's fault
)
def test_negative_margin_is_what_a_delivered_request_lost(
    charged: int,
    cost: int,
    loss: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    record_spend("m", "bedrock", 1 if charged else 0, charged, cost)
    (blob,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (blob["OperatorCost"], blob["NegativeMargin"]) == ([float(cost)], [float(loss)])
