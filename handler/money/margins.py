"""What requests earned the operator: per request, its charge (revenue) less what its attempts
cost the operator's backends (declared by each placement or reported by its backend), summed
over a period by model, by placement and by account, from the ledger's settled entries."""

from dataclasses import dataclass, field

from handler.core.records.ledger import LedgerEntry


@dataclass(slots=True)
class Margin:
    revenue: int = 0  # micro-units charged
    cost: int = 0  # micro-units the backends cost the operator
    requests: int = 0

    @property
    def margin(self) -> int:
        return self.revenue - self.cost

    def add(self, entry: LedgerEntry) -> None:
        self.revenue -= entry.amount  # a charge is negative; a refund's is 0
        self.cost += entry.operator_cost or 0
        self.requests += 1


@dataclass(slots=True)
class Margins:
    """Settled requests' margins, summed four ways. A request settled before its cost was
    recorded counts at cost 0; one that never reached a placement has placement None."""

    totals: Margin = field(default_factory=Margin)
    by_model: dict[str, Margin] = field(default_factory=dict)
    # by (model, placement): a placement's id names it within its model
    by_placement: dict[tuple[str, str | None], Margin] = field(default_factory=dict)
    by_account: dict[str, Margin] = field(default_factory=dict)

    def add(self, entry: LedgerEntry) -> None:
        """Count ``entry`` if it settled a request (a charge or a request's refund)."""
        if entry.kind not in ("charge", "refund") or entry.model is None:
            return
        model = entry.model
        for margin in (
            self.totals,
            self.by_model.setdefault(model, Margin()),
            self.by_placement.setdefault((model, entry.placement), Margin()),
            self.by_account.setdefault(entry.key_id, Margin()),
        ):
            margin.add(entry)
