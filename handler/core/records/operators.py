"""What an operator's console signs the admin API with: temporary credentials for the
operators' role, from the identity pool."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OperatorCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: int  # unix seconds
    region: str  # where the API is: the signature's scope

    def __repr__(self) -> str:
        return f"OperatorCredentials(access_key_id={self.access_key_id!r})"
