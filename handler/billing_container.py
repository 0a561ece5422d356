"""Card top-ups (Stripe), from ``Settings``, built once per process: what the API, the members'
API and the reload function charge cards with. Stripe's SDK is loaded by no other function."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from handler import container
from handler.config import get_settings
from handler.core.errors import NotFound

if TYPE_CHECKING:
    from handler.money.cards import CardTerms, CardTopUps


@cache
def card_terms() -> CardTerms | None:
    """What a card top-up may be here; None where the deployment takes no cards."""
    from handler.money.cards import CardTerms

    settings = get_settings()
    if not settings.takes_cards:
        return None
    return CardTerms.of(
        settings.card_currency, settings.card_top_up_minimum, settings.card_top_up_maximum
    )


@cache
def card_top_ups() -> CardTopUps:
    """Card top-ups, where the deployment has a Stripe secret key (else a clear 404)."""
    from handler.aws.secrets import secret_reader
    from handler.money.cards import CardTopUps
    from handler.money.stored.payments import DynamoDBPayments
    from handler.money.stored.stripe_cards import StripeCards

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
