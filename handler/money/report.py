"""What the operators' report says of a period, from every account's ledger: per UTC day, what
customers paid in (card top-ups), what operators credited (their top-ups) and corrected
(adjustments), what requests were charged and what was given back (reversals of card
payments); the accounts that spent most; and what requests earned the operator (margins)."""

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from handler.core.records.ledger import LedgerEntry
from handler.money.margins import Margins

TOP = 10


@dataclass(slots=True)
class DayTotals:
    paid_in: int = 0  # card top-ups, micro-units
    credited: int = 0  # operators' top-ups (admin, command line)
    adjusted: int = 0  # operators' corrections, signed
    charged: int = 0  # what requests were charged
    reversed: int = 0  # card payments taken back (refunds, disputes), signed
    requests: int = 0  # settled requests (charges and full refunds)
    refunded_requests: int = 0  # requests that delivered nothing, refunded in full

    def add(self, entry: LedgerEntry) -> None:
        match entry.kind:
            case "topup" if entry.source == "card":
                self.paid_in += entry.amount
            case "topup":
                self.credited += entry.amount
            case "adjustment":
                self.adjusted += entry.amount
            case "charge":
                self.charged -= entry.amount
                self.requests += 1
            case "refund":
                self.requests += 1
                self.refunded_requests += 1
            case "reversal":
                self.reversed += entry.amount


@dataclass(frozen=True, slots=True)
class Report:
    days: dict[str, DayTotals]  # by UTC date, in order
    totals: DayTotals
    top_accounts: list[tuple[str, int]] = field(default_factory=list)  # (account, charged)
    margins: Margins = field(default_factory=Margins)


def report(entries: Iterable[LedgerEntry]) -> Report:
    days: dict[str, DayTotals] = {}
    totals = DayTotals()
    spent: dict[str, int] = {}
    margins = Margins()
    for entry in entries:
        margins.add(entry)
        day = time.strftime("%Y-%m-%d", time.gmtime(entry.at / 1000))
        days.setdefault(day, DayTotals()).add(entry)
        totals.add(entry)
        if entry.kind == "charge":
            spent[entry.key_id] = spent.get(entry.key_id, 0) - entry.amount
    top = sorted(spent.items(), key=lambda pair: (-pair[1], pair[0]))[:TOP]
    return Report(dict(sorted(days.items())), totals, top, margins)
