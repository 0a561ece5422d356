"""A quote, as a record: the price of one request, held for its key for a few minutes."""

import hashlib
import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class PricedTerms:
    """What a request's price depends on, resolved as the catalog prices it (``auto`` as the
    size it makes, an alias as its model): a quote holds for a request of the same terms,
    whatever its prompt, format or seed."""

    model: str  # the catalog's id
    size: str  # WIDTHxHEIGHT
    quality: str  # the model's own tier
    steps: int | None
    n: int
    edit: bool  # input images were given: some models price edits apart

    @property
    def fingerprint(self) -> str:
        """The terms as one string, for a write to compare in its condition."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Quote:
    id: str  # quote_ and 24 hex digits
    key_id: str  # the key that asked for it: no other may use it
    terms: PricedTerms
    unit_price: int  # micro-units per image
    created_at: int  # unix seconds
    expires_at: int  # unix seconds: a generation must be paid for before then
    used_by: str | None = None  # the request it is held for, once one claims it

    @property
    def amount(self) -> int:
        return self.terms.n * self.unit_price
