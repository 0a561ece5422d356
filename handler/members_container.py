"""Members' console sign-in, from ``Settings``, built once per process: their tokens checked
against the pool's keys (joserfc), and operators' console credentials. Only the members' API
imports it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from handler.accounts_container import members_pool, pool_region
from handler.core.errors import NotFound

if TYPE_CHECKING:
    from handler.stores.member_tokens import MemberTokens
    from handler.stores.operator_credentials import IdentityPoolCredentials


@cache
def member_tokens() -> MemberTokens:
    """The console's sign-in tokens, checked against the members' pool (404 where the
    deployment has none)."""
    from handler.stores.member_tokens import MemberTokens, PublishedKeys, pool_issuer

    settings, pool, client_id = members_pool()
    jwks = settings.user_pool_jwks_url or f"{pool_issuer(pool)}/.well-known/jwks.json"
    return MemberTokens(pool, client_id, PublishedKeys(jwks))


@cache
def operator_credentials() -> IdentityPoolCredentials:
    """Operators' console credentials (404 where the deployment has no identity pool)."""
    from handler.aws.clients import cognito_identity_client
    from handler.stores.operator_credentials import IdentityPoolCredentials

    settings, pool, _ = members_pool()
    if settings.identity_pool_id is None:
        raise NotFound("This deployment has no operators' console.", code="sign_in_not_configured")
    client = cognito_identity_client(pool_region(pool))
    return IdentityPoolCredentials(settings.identity_pool_id, pool, client)
