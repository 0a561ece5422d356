"""A local stand-in for the parts of Stripe's API imagegate uses, so the card top-up loop runs
offline: Checkout Sessions (with a page to pay them), PaymentIntents made off-session, refunds,
disputes, and webhook events delivered to the endpoints it is given, signed the way Stripe
signs them (``Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">``).

It speaks Stripe's wire format (form-encoded requests with bracketed keys, JSON answers,
``{"error": {...}}`` on failure, ``Authorization: Bearer <secret key>``) so the real ``stripe``
client talks to it unchanged. What Stripe's dashboard does by hand (dispute a charge, pay a
session asynchronously) is under ``/_stand_in/``.

Maintained stand-ins were looked at first: localstripe (``localstack-localstripe`` on PyPI)
signs webhooks, but has no Checkout Sessions, no ``charge.refunded`` and no disputes."""

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

from handler.cli.stripe_stand_in.charges import Charges
from handler.cli.stripe_stand_in.checkout import Checkout
from handler.cli.stripe_stand_in.objects import API_VERSION, Json, StripeFailure, form, sign


@dataclass
class Delivery:
    event: Json
    status: int | None = None


class StripeStandIn(Checkout, Charges):
    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        endpoints: list[str] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(clock)
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.endpoints = list(endpoints or ())
        self.deliveries: list[Delivery] = []
        self.declining = set()
        self._server: ThreadingHTTPServer | None = None
        self._answered: dict[str, tuple[str, int, bytes]] = {}  # idempotency keys

    def start(self, port: int = 0) -> "StripeStandIn":
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in._answer(self, "GET")

            def do_POST(self) -> None:
                stand_in._answer(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = urlsplit(request.path).path
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length).decode() if length else ""
        status, headers, content = 200, {"content-type": "application/json"}, b""
        try:
            if path.startswith("/pay/"):
                status, headers, content = self._page(method, path.removeprefix("/pay/"))
            else:
                if not path.startswith("/_stand_in/"):
                    self._authorize(request.headers.get("authorization", ""))
                once = request.headers.get("idempotency-key") if method == "POST" else None
                given = body if method == "POST" else urlsplit(request.path).query
                status, content, marks = self._once(once, path + "?" + given, method, path, given)
                headers |= marks
        except StripeFailure as failure:
            status, content = failure.status, json.dumps(failure.body).encode()
        request.send_response(status)
        for name, value in {**headers, "request-id": f"req_{secrets.token_hex(6)}"}.items():
            request.send_header(name, value)
        request.send_header("content-length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)

    def _once(
        self, key: str | None, request: str, method: str, path: str, body: str
    ) -> tuple[int, bytes, dict[str, str]]:
        """Stripe's idempotency: a POST's key replays its first answer, marked as Stripe marks
        it (a header); the key sent with other parameters is refused."""
        if key is not None and key in self._answered:
            first, status, content = self._answered[key]
            if first != request:
                raise StripeFailure(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters.",
                    type="idempotency_error",
                )
            return status, content, {"idempotent-replayed": "true"}
        content = json.dumps(self._route(method, path, form(body))).encode()
        if key is not None:
            self._answered[key] = (request, 200, content)
        return 200, content, {}

    def _authorize(self, header: str) -> None:
        if header != f"Bearer {self.secret_key}":
            raise StripeFailure(401, "Invalid API Key provided.")

    def _route(self, method: str, path: str, params: Json) -> Json:
        parts = path.strip("/").split("/")
        with self.lock:
            match method, parts:
                case "POST", ["v1", "checkout", "sessions"]:
                    return self._create_session(params)
                case "GET", ["v1", "checkout", "sessions", session_id]:
                    return self._get(session_id, "checkout.session")
                case "GET", ["v1", "customers", customer, "payment_methods"]:
                    return self._list_methods(customer)
                case "POST", ["v1", "payment_intents"]:
                    return self._charge_off_session(params)
                case "POST", ["v1", "refunds"]:
                    return self._refund(params)
                case "POST", ["_stand_in", "sessions", session_id, "pay"]:
                    return self._pay(session_id, later=params.get("later") == "true")
                case "POST", ["_stand_in", "sessions", session_id, "settle"]:
                    return self._settle_later(session_id)
                case "POST", ["_stand_in", "disputes"]:
                    return self._dispute(params["charge"])
                case "POST", ["_stand_in", "disputes", dispute_id, "close"]:
                    return self._close_dispute(dispute_id, params["status"])
        raise StripeFailure(404, f"Unrecognized request URL ({method}: {path}).")

    def _emit(self, kind: str, data: Json) -> Json:
        event = self._new(
            "evt",
            "event",
            api_version=API_VERSION,
            type=kind,
            data={"object": json.loads(json.dumps(data))},
            pending_webhooks=len(self.endpoints),
            request={"id": None, "idempotency_key": None},
        )
        for endpoint in self.endpoints:
            threading.Thread(target=self.deliver, args=(event, endpoint), daemon=True).start()
        return event

    def deliver(self, event: Json, endpoint: str, *, timestamp: int | None = None) -> int:
        """POST ``event`` to ``endpoint`` as Stripe would (again, for a redelivery)."""
        payload = json.dumps(event, indent=2)
        header = sign(payload, self.webhook_secret, timestamp or int(self.clock()))
        delivery = Delivery(event)
        with self.lock:
            self.deliveries.append(delivery)
        try:
            answer = httpx.post(
                endpoint,
                content=payload.encode(),
                headers={
                    "content-type": "application/json; charset=utf-8",
                    "stripe-signature": header,
                },
                timeout=30,
            )
            delivery.status = answer.status_code
        except httpx.HTTPError:
            delivery.status = 0
        return delivery.status
