"""Operators' console credentials, from the identity pool (``stores/operator_credentials.py``)."""

from typing import Protocol

from handler.core.records.operators import OperatorCredentials


class OperatorCredentialSource(Protocol):
    def for_token(self, id_token: str) -> OperatorCredentials:
        """The operators' role's credentials for the login ``id_token`` proves; 403
        ``not_an_operator`` when the pool's rules give that login no role."""
        ...
