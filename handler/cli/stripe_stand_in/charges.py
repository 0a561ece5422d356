"""Off-session charges of a saved card, refunds and disputes."""

from handler.cli.stripe_stand_in.objects import Json, Objects, StripeFailure


class Charges(Objects):
    declining: set[str]  # customers whose card is declined

    def _charge_off_session(self, params: Json) -> Json:
        customer = self._get(params.get("customer", ""), "customer")
        method = str(params.get("payment_method"))
        saved = {m["id"] for m in self._methods(customer["id"])}
        if params.get("off_session") != "true" or params.get("confirm") != "true":
            raise StripeFailure(400, "Off-session charges confirm at once.", param="off_session")
        if method not in saved:
            raise StripeFailure(
                400, "No such PaymentMethod for the customer.", param="payment_method"
            )
        if customer["id"] in self.declining:
            raise StripeFailure(
                402,
                "Your card was declined.",
                code="card_declined",
                decline_code="generic_decline",
                type="card_error",
            )
        intent = self._intent(
            int(params["amount"]),
            params["currency"],
            customer["id"],
            method,
            params.get("metadata", {}),
            succeeded=True,
        )
        self._emit("payment_intent.succeeded", self._shown(intent))
        return self._shown(intent)

    def _methods(self, customer: str) -> list[Json]:
        kinds = [o for o in self.objects.values() if o["object"] == "payment_method"]
        return [method for method in kinds if method.get("customer") == customer]

    def _list_methods(self, customer: str) -> Json:
        self._get(customer, "customer")
        data = self._methods(customer)
        url = f"/v1/customers/{customer}/payment_methods"
        return {"object": "list", "data": data, "has_more": False, "url": url}

    def _refund(self, params: Json) -> Json:
        if "payment_intent" in params:
            intent = self._get(params["payment_intent"], "payment_intent")
            charge = self._get(intent["latest_charge"], "charge")
        else:
            charge = self._get(params.get("charge", ""), "charge")
        left = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount", left))
        if not 0 < amount <= left:
            raise StripeFailure(400, f"Refund amount must be 1 to {left}.", param="amount")
        refund = self._new("re", "refund", amount=amount, charge=charge["id"], status="succeeded")
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._emit("charge.refunded", self._shown(charge))
        return refund

    def _dispute(self, charge_id: str) -> Json:
        charge = self._get(charge_id, "charge")
        charge["disputed"] = True
        dispute = self._new(
            "dp",
            "dispute",
            amount=charge["amount"] - charge["amount_refunded"],
            currency=charge["currency"],
            charge=charge["id"],
            payment_intent=charge["payment_intent"],
            status="needs_response",
            reason="fraudulent",
        )
        self._emit("charge.dispute.created", dispute)
        return dispute

    def _close_dispute(self, dispute_id: str, status: str) -> Json:
        dispute = self._get(dispute_id, "dispute")
        dispute["status"] = status
        self._emit("charge.dispute.closed", dispute)
        return dispute
