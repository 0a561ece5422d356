"""Checkout Sessions: made by the API, paid on the stand-in's page (or by a test)."""

import html

from handler.cli.stripe_stand_in.objects import Json, Objects, StripeFailure


class Checkout(Objects):
    def _create_session(self, params: Json) -> Json:
        if params.get("mode") != "payment":
            raise StripeFailure(400, "This stand-in takes mode=payment only.", param="mode")
        for name in ("success_url", "cancel_url"):
            url = params.get(name, "")
            if not url.startswith(("http://", "https://")):
                raise StripeFailure(400, f"Not a valid URL: {url!r}", param=name)
        items = params.get("line_items") or []
        try:
            [item] = items
            price = item["price_data"]
            amount = int(price["unit_amount"]) * int(item.get("quantity", "1"))
            currency = price["currency"]
        except (KeyError, ValueError, TypeError):
            raise StripeFailure(400, "One line item with price_data.", param="line_items") from None
        customer = params.get("customer")
        if customer is not None:
            self._get(customer, "customer")
        session = self._new(
            "cs",
            "checkout.session",
            mode="payment",
            amount_total=amount,
            amount_subtotal=amount,
            currency=currency,
            customer=customer,
            customer_creation=params.get("customer_creation"),
            client_reference_id=params.get("client_reference_id"),
            metadata=params.get("metadata", {}),
            payment_intent=None,
            payment_status="unpaid",
            status="open",
            success_url=params["success_url"],
            cancel_url=params["cancel_url"],
            expires_at=int(self.clock()) + 24 * 3600,
            _intent_data=params.get("payment_intent_data", {}),
        )
        session["url"] = f"{self.url}/pay/{session['id']}"
        return self._shown(session)

    def _pay(self, session_id: str, *, later: bool = False) -> Json:
        """The customer pays (a card now, or a bank debit that settles ``later``)."""
        session = self._get(session_id, "checkout.session")
        if session["status"] != "open":
            raise StripeFailure(400, "This Checkout Session is no longer open.")
        if session["customer"] is None and session["customer_creation"] == "always":
            session["customer"] = self._new("cus", "customer")["id"]
        intent_data = session["_intent_data"]
        saving = session["customer"] and intent_data.get("setup_future_usage") == "off_session"
        # A card is attached to the customer only where the session saves it.
        method = self._new(
            "pm", "payment_method", type="card", customer=session["customer"] if saving else None
        )
        intent = self._intent(
            session["amount_total"],
            session["currency"],
            session["customer"],
            method["id"],
            intent_data.get("metadata", {}),
            succeeded=not later,
        )
        session.update(status="complete", payment_intent=intent["id"])
        session["payment_status"] = "unpaid" if later else "paid"
        self._emit("checkout.session.completed", self._shown(session))
        if not later:  # Stripe tells of the PaymentIntent too
            self._emit("payment_intent.succeeded", self._shown(intent))
        return self._shown(session)

    def _settle_later(self, session_id: str) -> Json:
        session = self._get(session_id, "checkout.session")
        intent = self._get(session["payment_intent"], "payment_intent")
        intent["status"] = "succeeded"
        intent["latest_charge"] = self._charge_for(intent)["id"]
        session["payment_status"] = "paid"
        self._emit("checkout.session.async_payment_succeeded", self._shown(session))
        return self._shown(session)

    def _page(self, method: str, session_id: str) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            try:
                session = self._get(session_id, "checkout.session")
            except StripeFailure:
                return 404, {"content-type": "text/plain"}, b"No such checkout session."
            if method == "POST" and session["status"] == "open":
                self._pay(session_id)
        if method == "POST":
            target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
            return 303, {"location": target}, b""
        amount = session["amount_total"] / 100
        page = f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>Pay (local Stripe stand-in)</title>
<main><h1>Local Stripe stand-in</h1>
<p>Top up {html.escape(f"{amount:.2f} {session['currency'].upper()}")}. No card is charged:
this page stands in for Stripe Checkout on the local stack.</p>
<form method="post"><button type="submit">Pay</button></form>
<p><a href="{html.escape(session["cancel_url"])}">Cancel</a></p></main></html>"""
        return 200, {"content-type": "text/html; charset=utf-8"}, page.encode()
