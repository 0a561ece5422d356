"""Builds what only operators, members and paying key holders reach, from ``Settings``, once
per process: card top-ups, the admin API and the members' (``container.py`` builds the rest)."""

from functools import cache

from handler import container
from handler.accounts.keys import AccountKeys
from handler.accounts.membership import AccountMembers
from handler.aws.clients import cognito_client, cognito_identity_client
from handler.aws.secrets import secret_reader
from handler.config import SignInSettings, get_settings, get_sign_in_settings
from handler.core.errors import NotFound
from handler.keys.admin import KeyAdmin
from handler.money.cards import CardTerms, CardTopUps
from handler.money.stored.accounts import DynamoDBAccounts
from handler.money.stored.key_changes import DynamoDBKeyChanges
from handler.money.stored.payments import DynamoDBPayments
from handler.money.stored.stripe_cards import StripeCards
from handler.stores.member_tokens import MemberTokens, PublishedKeys, pool_issuer
from handler.stores.members import DynamoDBMembers
from handler.stores.operator_credentials import IdentityPoolCredentials
from handler.stores.sign_in import CognitoSignIn


@cache
def card_terms() -> CardTerms | None:
    """What a card top-up may be here; None where the deployment takes no cards."""
    settings = get_settings()
    if not settings.takes_cards:
        return None
    return CardTerms.of(
        settings.card_currency, settings.card_top_up_minimum, settings.card_top_up_maximum
    )


@cache
def card_top_ups() -> CardTopUps:
    """Card top-ups, where the deployment has a Stripe secret key (else a clear 404)."""
    settings = get_settings()
    terms = card_terms()
    if terms is None:
        raise NotFound(
            "This deployment takes no card payments.", code="card_payments_not_configured"
        )
    cards = StripeCards(
        secret_reader(settings.stripe_secret_key, settings.stripe_secret_key_secret, "Stripe key"),
        secret_reader(
            settings.stripe_webhook_secret, settings.stripe_webhook_secret_name, "Stripe secret"
        ),
        terms,
        api_base=settings.stripe_api_base,
    )
    payments = DynamoDBPayments(settings.keys_table, settings.ledger_table)
    billing = container.charging()
    return CardTopUps(
        cards,
        payments,
        terms,
        keys=container.key_store(),
        alerts=billing.alerts,
        claims=billing.reloads,
    )


@cache
def key_admin() -> KeyAdmin:
    settings = get_settings()
    changes = DynamoDBKeyChanges(settings.keys_table, settings.ledger_table)
    return KeyAdmin(
        container.key_store(),
        changes,
        container.entries(),
        container.catalog(),
        local_webhooks=settings.local_webhooks,
        alerts=container.charging().alerts,
    )


@cache
def accounts() -> DynamoDBAccounts:
    settings = get_settings()
    return DynamoDBAccounts(settings.keys_table, settings.ledger_table, settings.members_table)


@cache
def account_members() -> AccountMembers:
    settings, sign_in = get_settings(), get_sign_in_settings()
    members = DynamoDBMembers(settings.members_table, settings.keys_table)
    logins = sign_in_service() if sign_in.user_pool_id is not None else None
    return AccountMembers(
        members, accounts(), sign_in.sign_up, sign_in.sign_up_starting_credit, logins=logins
    )


@cache
def account_keys() -> AccountKeys:
    return AccountKeys(account_members(), accounts(), key_admin(), container.charge_store())


@cache
def member_tokens() -> MemberTokens:
    """The console's sign-in tokens, checked against the members' pool (404 where the
    deployment has none)."""
    settings, pool, client_id = _members_pool()
    jwks = settings.user_pool_jwks_url or f"{pool_issuer(pool)}/.well-known/jwks.json"
    return MemberTokens(pool, client_id, PublishedKeys(jwks))


@cache
def sign_in_service() -> CognitoSignIn:
    """Members' sign-up and sign-in through the pool (404 where the deployment has none)."""
    _, pool, client_id = _members_pool()
    return CognitoSignIn(pool, client_id, cognito_client(_region(pool)))


@cache
def operator_credentials() -> IdentityPoolCredentials:
    """Operators' console credentials (404 where the deployment has no identity pool)."""
    settings, pool, _ = _members_pool()
    if settings.identity_pool_id is None:
        raise NotFound("This deployment has no operators' console.", code="sign_in_not_configured")
    client = cognito_identity_client(_region(pool))
    return IdentityPoolCredentials(settings.identity_pool_id, pool, client)


def _members_pool() -> tuple[SignInSettings, str, str]:
    """The sign-in settings, the members' pool and its console client (a 404 without them)."""
    settings = get_sign_in_settings()
    if settings.user_pool_id is None or settings.user_pool_client_id is None:
        raise NotFound("This deployment has no members' sign-in.", code="sign_in_not_configured")
    return settings, settings.user_pool_id, settings.user_pool_client_id


def _region(pool: str) -> str:
    return pool.split("_", 1)[0]  # a pool's id begins with its region: us-east-1_AbC
