"""The console's sign-in tokens, verified (``stores/member_tokens.py``)."""

from typing import Protocol

from handler.core.records.members import Member


class MemberTokenVerifier(Protocol):
    def verify(self, token: str) -> Member:
        """The person an ID token names; ``AuthenticationFailed`` (401) if it is not valid."""
        ...
