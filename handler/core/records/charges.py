"""What a request is charged, as records: the price reserved, what settling it wrote, and
what a submission that costs nothing yet must show."""

from dataclasses import dataclass, field
from typing import Literal

from handler.core.records.moderation import Verdict


@dataclass(frozen=True, slots=True)
class Charge:
    """The price of one request, reserved before the backend runs."""

    request_id: str
    model: str
    size: str
    n: int
    unit_price: int  # micro-units per image
    reserved_at: int  # unix milliseconds
    end_user: str | None = None  # the request's safety_identifier (or user), kept for abuse review

    @property
    def amount(self) -> int:
        return self.n * self.unit_price


UsageStatus = Literal["succeeded", "partial", "failed", "reconciled"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of a request on one of its model's placements, and what it cost the operator
    (micro-units: declared by the placement, or reported by its backend)."""

    placement: str
    cost: int
    error_code: str | None = None  # None: it delivered


@dataclass(slots=True)
class Trail:
    """What a request's work records as it goes, settled with it: each placement it tried
    and what that cost the operator, and moderation's verdicts on its prompt and images."""

    attempts: list[Attempt] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    key_id: str
    charge: Charge
    delivered: int
    status: UsageStatus
    settled_at: int  # unix milliseconds
    error_code: str | None = None
    placement: str | None = None  # where it ran: the placement that delivered, or last tried
    operator_cost: int = 0  # micro-units: what its attempts cost the operator
    verdicts: tuple[Verdict, ...] = ()  # moderation's, of its prompt and images

    @property
    def charged(self) -> int:
        return self.delivered * self.charge.unit_price

    @property
    def margin(self) -> int:
        """What the request earned the operator: its charge less its cost (either sign)."""
        return self.charged - self.operator_cost

    @property
    def refunded(self) -> int:
        return self.charge.amount - self.charged


@dataclass(frozen=True, slots=True)
class Admission:
    """What a submission that costs nothing yet (an async job, a batch) must show: the
    balance its key must hold for the work to run, and the model it asks for (None: any)."""

    balance: int
    model: str | None = None


@dataclass(frozen=True, slots=True)
class WindowUpkeep:
    """What a settlement does to the key's windows besides closing its reservation."""

    stale_minutes: tuple[int, ...] = ()  # past rate windows, cleared away
    stale_spend: tuple[str, ...] = ()  # past spend windows, cleared away
    refund_to: tuple[str, ...] = ()  # the current spend windows the refund goes back into
