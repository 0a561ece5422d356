"""Moderation's guardrail (``backends/guardrails.py``)."""

from collections.abc import Sequence
from typing import Literal, Protocol

from handler.core.records.moderation import Finding, ModerationPolicy


class Guardrail(Protocol):
    def assess(
        self, source: Literal["INPUT", "OUTPUT"], text: str | None, images: Sequence[bytes]
    ) -> list[Finding]:
        """What the guardrail finds in a prompt and its input images (``INPUT``) or in one
        image made (``OUTPUT``): each filter's confidence, and whether it blocks. Raises
        ``BackendUnavailable`` when it cannot answer now."""
        ...


class AccountModeration(Protocol):
    """An account's moderation: its policy and the requests of its that were blocked."""

    def policy(self, account_id: str) -> ModerationPolicy | None:
        """None: the operator's default."""
        ...

    def set_policy(
        self, account_id: str, policy: ModerationPolicy | None, *, actor: str, now: int
    ) -> None:
        """Raises NotFound for an id that names no account."""
        ...

    def standing(self, account_id: str) -> tuple[ModerationPolicy | None, int]:
        """Its policy (None: the default) and how many of its requests were blocked."""
        ...

    def count_violation(self, account_id: str) -> int:
        """One more of the account's requests blocked; how many now."""
        ...
