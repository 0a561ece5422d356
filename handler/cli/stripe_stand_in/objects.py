"""The stand-in's objects as Stripe shapes them: ids with their prefixes, ``object`` naming the
kind, amounts in the currency's smallest unit; and its wire format."""

import hashlib
import hmac
import itertools
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

API_VERSION = "2026-10-28.endive"
Json = dict[str, Any]


class StripeFailure(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, **more: Any):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": "invalid_request_error", "message": message, **more}}
        if param is not None:
            self.body["error"]["param"] = param


def form(body: str) -> Json:
    """Stripe's form encoding (``a[b][0][c]=1``) as nested dicts and lists."""
    root: Json = {}
    for name, value in parse_qsl(body, keep_blank_values=True):
        parts = name.replace("]", "").split("[")
        here: Any = root
        for part, after in itertools.pairwise(parts):
            default: Any = [] if after.isdigit() else {}
            if isinstance(here, list):
                while len(here) <= int(part):
                    here.append(default)
                here = here[int(part)]
            else:
                here = here.setdefault(part, default)
        last = parts[-1]
        if isinstance(here, list):
            here.append(value)
        else:
            here[last] = value
    return root


def sign(payload: str, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class Objects(ABC):
    """Every object made, by id, and what each operation shares."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.objects: dict[str, Json] = {}
        self.lock = threading.Lock()

    @abstractmethod
    def _emit(self, kind: str, data: Json) -> Json:
        """Tell the webhook endpoints of ``data`` as an event of ``kind``."""

    def events(self, kind: str | None = None) -> list[Json]:
        found = [o for o in self.objects.values() if o["object"] == "event"]
        return [event for event in found if kind is None or event["type"] == kind]

    @property
    @abstractmethod
    def url(self) -> str:
        """Where the stand-in answers (its pages' links)."""

    def _new(self, prefix: str, kind: str, **values: Any) -> Json:
        made = {"id": f"{prefix}_test_{secrets.token_hex(12)}", "object": kind, **values}
        made.setdefault("created", int(self.clock()))
        made.setdefault("livemode", False)
        self.objects[made["id"]] = made
        return made

    def _get(self, object_id: str, kind: str) -> Json:
        found = self.objects.get(object_id)
        if found is None or found["object"] != kind:
            raise StripeFailure(404, f"No such {kind}: '{object_id}'", param="id")
        return found

    def _shown(self, found: Json) -> Json:
        return {name: value for name, value in found.items() if not name.startswith("_")}

    def _intent(
        self,
        amount: int,
        currency: str,
        customer: str | None,
        method: str,
        metadata: Json,
        *,
        succeeded: bool,
    ) -> Json:
        intent = self._new(
            "pi",
            "payment_intent",
            amount=amount,
            currency=currency,
            customer=customer,
            payment_method=method,
            metadata=metadata,
            status="succeeded" if succeeded else "processing",
            latest_charge=None,
        )
        if succeeded:
            intent["latest_charge"] = self._charge_for(intent)["id"]
        return intent

    def _charge_for(self, intent: Json) -> Json:
        return self._new(
            "ch",
            "charge",
            amount=intent["amount"],
            amount_refunded=0,
            currency=intent["currency"],
            customer=intent["customer"],
            payment_intent=intent["id"],
            metadata=intent["metadata"],
            refunded=False,
            disputed=False,
            status="succeeded",
        )
