"""Stripe as the card processor: Checkout Sessions for top-ups, and its webhook events,
verified (``Stripe-Signature``) and read into ``money/payments.py``'s events.

Only what imagegate started is read: a paid session carries the key id in its metadata (put
there when the session was made); a refund or dispute names its PaymentIntent, which the
payment's record (``money/stored/payments.py``) ties to the key. Events of other currencies, other
integrations on the same account, or kinds imagegate does not act on are acknowledged and
left alone.
"""

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from handler.core.errors import IdempotencyKeyReused, InvalidRequest, Outcome, PaymentsUnavailable
from handler.core.outcomes import CardDeclined
from handler.core.records.payments import CardEvent, CheckoutOrder, CheckoutSession, Reload
from handler.money.cards import CardTerms
from handler.money.stored.stripe_events import card_event
from handler.observability import count, logger

if TYPE_CHECKING:
    import stripe

# Stripe's own default: an event signed more than five minutes ago is refused (a replay).
TOLERANCE_SECONDS = 300
TIMEOUT_SECONDS = 10
PRODUCT_NAME = "imagegate credit"


class _EventData(BaseModel):
    object: object  # read by its kind (money/stored/stripe_events.py)


class _Event(BaseModel):
    model_config = ConfigDict(strict=True)

    type: str
    data: _EventData


class StripeCards:
    def __init__(
        self,
        secret_key: Callable[[], str],
        webhook_secret: Callable[[], str],
        terms: CardTerms,
        *,
        api_base: str | None = None,
    ):
        self._secret_key = secret_key
        self._webhook_secret = webhook_secret
        self._terms = terms
        self._api_base = api_base
        self._client: stripe.StripeClient | None = None
        self._lock = threading.Lock()

    def checkout(self, order: CheckoutOrder) -> CheckoutSession:
        import stripe

        terms = self._terms
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": terms.currency,
                        "unit_amount": order.amount // terms.minor_unit,
                        "product_data": {"name": PRODUCT_NAME},
                    },
                }
            ],
            "success_url": order.success_url,
            "cancel_url": order.cancel_url,
            "client_reference_id": order.key_id,
            "metadata": {"key_id": order.key_id},
            "payment_intent_data": {"metadata": {"key_id": order.key_id}},
        }
        if order.save_card:  # the key reloads itself: Checkout asks the payer's consent
            params["payment_intent_data"]["setup_future_usage"] = "off_session"
        if order.customer is None:
            params["customer_creation"] = "always"  # so the key's next checkout reuses it
        else:
            params["customer"] = order.customer
        options: dict[str, Any] = {}
        if order.idempotency_key is not None:
            options["idempotency_key"] = order.idempotency_key
        try:
            session = self._stripe().v1.checkout.sessions.create(params, options)  # type: ignore[arg-type]
        except stripe.IdempotencyError:  # the key's first checkout had other parameters
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a checkout of another amount or "
                "other URLs. Use a new key for a new checkout."
            ) from None
        except stripe.InvalidRequestError as exc:
            raise InvalidRequest(exc.user_message or str(exc), param=exc.param) from exc
        except stripe.StripeError as exc:
            raise _unavailable(exc) from exc
        return CheckoutSession(
            id=session.id,
            url=str(session.url),
            amount=order.amount,
            currency=terms.currency,
            expires_at=session.expires_at,
            replayed=_replayed(session.last_response),
        )

    def event(self, payload: bytes, signature: str | None) -> CardEvent | None:
        import stripe

        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._webhook_secret(), TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as exc:
            raise InvalidRequest(
                f"The Stripe-Signature does not verify: {exc.user_message or exc}",
                param="Stripe-Signature",
                code="invalid_signature",
            ) from None
        try:
            event = _Event.model_validate_json(payload)
            return card_event(event.type, event.data.object, self._micros)
        except _OtherCurrency:
            return None  # acknowledged, and logged: Stripe would only send it again
        except (ValueError, RecursionError) as exc:  # pydantic's errors are ValueErrors
            raise InvalidRequest("The event is not one of Stripe's.", code="invalid_event") from exc

    def charge_saved_card(self, customer: str, reload: Reload) -> str:
        import stripe

        client = self._stripe()
        try:
            methods = client.v1.customers.payment_methods.list(customer, {"type": "card"})
            if not methods.data:
                raise CardDeclined(f"{customer} has no saved card")
            intent = client.v1.payment_intents.create(
                {
                    "amount": reload.amount // self._terms.minor_unit,
                    "currency": self._terms.currency,
                    "customer": customer,
                    "payment_method": methods.data[0].id,
                    "off_session": True,
                    "confirm": True,
                    "metadata": {"key_id": reload.key_id, "reload": reload.reference},
                },
                {"idempotency_key": reload.reference},
            )
        except stripe.CardError as exc:  # declined, or the bank wants the payer present
            raise CardDeclined(exc.code or "card_declined") from exc
        except stripe.StripeError as exc:
            raise _unavailable(exc) from exc
        return str(intent.id)

    def _micros(self, minor: int, currency: str) -> int:
        if currency.lower() != self._terms.currency:
            logger.error("card event in another currency", currency=currency)
            count("CardEventsRefused")
            raise _OtherCurrency
        return int(minor) * self._terms.minor_unit

    def _stripe(self) -> "stripe.StripeClient":
        with self._lock:
            if self._client is None:
                import stripe

                addresses = {} if self._api_base is None else {"api": self._api_base}
                self._client = stripe.StripeClient(
                    self._secret_key(),
                    base_addresses=addresses,  # type: ignore[arg-type]
                    max_network_retries=2,  # Stripe's idempotency keys make them safe
                    http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
                )
            return self._client


class _OtherCurrency(Outcome):
    """An event in a currency this deployment does not take: acknowledged, not applied."""


def _replayed(response: "stripe.StripeResponse | None") -> bool:
    """Whether Stripe answered with the first answer to this idempotency key."""
    return response is not None and response.headers.get("idempotent-replayed") == "true"


def _unavailable(exc: Exception) -> PaymentsUnavailable:
    logger.error("card processor failed", error=type(exc).__name__, detail=str(exc)[:300])
    return PaymentsUnavailable("Card payments are unavailable; try again later.", should_retry=True)
