"""What a member's sign-in gives the console: the pool's tokens."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tokens:
    id_token: str  # what the members' API takes as the bearer
    access_token: str
    refresh_token: str | None  # None on a refresh: the one given at sign-in stays
    expires_in: int  # seconds

    def __repr__(self) -> str:  # never a token in a log line
        return f"Tokens(expires_in={self.expires_in})"
