"""The operators' money report as the admin API answers it: per UTC day what came in and went
out, the accounts that spent most, and what requests earned the operator (margins)."""

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field

from handler.money.margins import Margin, Margins
from handler.money.report import DayTotals, Report


class Totals(BaseModel):
    paid_in: Annotated[int, Field(description="Card top-ups: what customers paid in.")]
    credited: Annotated[int, Field(description="Operators' top-ups.")]
    adjusted: Annotated[int, Field(description="Operators' corrections, signed.")]
    charged: Annotated[int, Field(description="What requests were charged.")]
    reversed: Annotated[int, Field(description="Card payments taken back, signed.")]
    requests: int
    refunded_requests: Annotated[int, Field(description="Requests refunded in full.")]

    @classmethod
    def of(cls, totals: DayTotals) -> "Totals":
        return cls(
            paid_in=totals.paid_in,
            credited=totals.credited,
            adjusted=totals.adjusted,
            charged=totals.charged,
            reversed=totals.reversed,
            requests=totals.requests,
            refunded_requests=totals.refunded_requests,
        )


class DayReport(Totals):
    date: str


class TopAccount(BaseModel):
    account_id: str
    charged: int


class MarginRow(BaseModel):
    revenue: Annotated[int, Field(description="What the requests were charged.")]
    cost: Annotated[int, Field(description="What their attempts cost the operator's backends.")]
    margin: Annotated[int, Field(description="Revenue less cost, signed.")]
    requests: Annotated[int, Field(description="Settled requests, refunded ones among them.")]

    @classmethod
    def of(cls, margin: Margin) -> "MarginRow":
        return cls(
            revenue=margin.revenue,
            cost=margin.cost,
            margin=margin.margin,
            requests=margin.requests,
        )


class ModelMargin(MarginRow):
    model: str


class PlacementMargin(ModelMargin):
    placement: Annotated[str | None, Field(description="None: the request ran nowhere.")]


class AccountMargin(MarginRow):
    account_id: str


Row = TypeVar("Row", bound=MarginRow)


class MarginReport(BaseModel):
    totals: MarginRow
    by_model: Annotated[list[ModelMargin], Field(description="Lowest margin first.")]
    by_placement: Annotated[list[PlacementMargin], Field(description="Lowest margin first.")]
    by_account: Annotated[list[AccountMargin], Field(description="Lowest margin first.")]

    @classmethod
    def of(cls, margins: Margins) -> "MarginReport":
        by_model = [ModelMargin(model=m, **_fields(v)) for m, v in margins.by_model.items()]
        by_placement = [
            PlacementMargin(model=m, placement=p, **_fields(v))
            for (m, p), v in margins.by_placement.items()
        ]
        by_account = [
            AccountMargin(account_id=a, **_fields(v)) for a, v in margins.by_account.items()
        ]
        return cls(
            totals=MarginRow.of(margins.totals),
            by_model=_lowest_first(by_model),
            by_placement=_lowest_first(by_placement),
            by_account=_lowest_first(by_account),
        )


def _fields(margin: Margin) -> dict[str, int]:
    return MarginRow.of(margin).model_dump()


def _lowest_first(rows: list[Row]) -> list[Row]:
    """Where money is lost first; of equal margins, the larger business first."""
    return sorted(rows, key=lambda row: (row.margin, -row.revenue))


class MoneyReport(BaseModel):
    object: Literal["admin.report"] = "admin.report"
    start_time: int
    end_time: int
    currency: Annotated[str, Field(description="ISO 4217, lower case: of every amount here.")]
    totals: Totals
    days: list[DayReport]
    top_accounts: Annotated[list[TopAccount], Field(description="Who spent most, 10 at most.")]
    margins: Annotated[
        MarginReport, Field(description="What requests earned the operator: revenue less cost.")
    ]

    @classmethod
    def of(cls, start: int, end: int, currency: str, found: Report) -> "MoneyReport":
        days = [DayReport(date=d, **Totals.of(t).model_dump()) for d, t in found.days.items()]
        top = [TopAccount(account_id=a, charged=c) for a, c in found.top_accounts]
        return cls(
            start_time=start,
            end_time=end,
            currency=currency,
            totals=Totals.of(found.totals),
            days=days,
            top_accounts=top,
            margins=MarginReport.of(found.margins),
        )
