"""Builds what only operators and paying key holders reach, from ``Settings``, once per
process: card top-ups and the admin API (``container.py`` builds the rest)."""

from functools import cache

from handler import container
from handler.aws.secrets import secret_reader
from handler.config import get_settings
from handler.core.errors import NotFound
from handler.keys.admin import KeyAdmin
from handler.money.cards import CardTerms, CardTopUps
from handler.money.stored.key_changes import DynamoDBKeyChanges
from handler.money.stored.payments import DynamoDBPayments
from handler.money.stored.stripe_cards import StripeCards


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
