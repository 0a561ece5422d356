"""What both kinds of queued work share at submission: the key's checks, replays of an
``Idempotency-Key``, webhook targets, and reading back what a key queued."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from handler.core.errors import NotFound
from handler.core.records.keys import Credentials
from handler.core.records.work import Work, WorkT, is_queued_request
from handler.core.webhooks import Resolver, check_webhook_host, check_webhook_url
from handler.keys.auth import authenticate, replayed
from handler.money.charging import Charging
from handler.money.policy import Meter
from handler.ports.idempotency import Idempotency
from handler.ports.keys import KeyStore
from handler.ports.work_store import WorkStore


@dataclass(frozen=True, slots=True)
class Intake:
    keys: KeyStore
    store: WorkStore
    idempotency: Idempotency
    charging: Charging
    resolve: Resolver  # DNS, to check webhook hosts are public
    local_webhooks: bool = False  # http webhooks to this machine: the local stack only
    clock: Callable[[], float] = field(default=time.time)

    def owned(self, batch_id: str, credentials: Credentials) -> Work:
        """The caller's own batch or job; another key's reads as missing."""
        authenticate(credentials, self.keys, now=self.clock())
        if not is_work_id(batch_id):  # not one of ours: no need to ask (DynamoDB would refuse)
            raise missing(batch_id)
        batch = self.store.get(batch_id)
        if batch is None or batch.key_id != credentials.key_id:
            raise missing(batch_id)
        return batch

    def owned_as(self, of: type[WorkT], work_id: str, credentials: Credentials) -> WorkT:
        """The caller's own batch (``of`` ``Batch``) or job (``Job``): one of the other type
        is missing too, as that type says (``of.not_found``)."""
        work = self.owned(work_id, credentials)
        if not isinstance(work, of):
            raise of.not_found(work_id)
        return work

    def replayed(self, credentials: Credentials, meter: Meter) -> None:
        replayed(credentials, self.keys, meter, now=self.clock())

    def webhook_url(self, url: str | None) -> str | None:
        return check_webhook_url(url, allow_local=self.local_webhooks)

    def check_webhook_host(self, url: str | None, credentials: Credentials) -> None:
        """Deployed, where the webhook's host leads: looked up for a known key only, so no
        one without a key can make the service resolve names."""
        if url is None or self.local_webhooks:
            return
        authenticate(credentials, self.keys, now=self.clock())
        check_webhook_host(url, self.resolve)


# Ids are ``batch_`` or ``imgjob_`` and 24 hex digits; anything far longer is not one.
MAX_ID_LENGTH = 64


def is_work_id(value: str) -> bool:
    """Whether ``value`` could be a batch's or job's id (``batch_``/``imgjob_`` and hex)."""
    return is_queued_request(value) and len(value) <= MAX_ID_LENGTH


def missing(batch_id: str) -> NotFound:
    return NotFound(f"No batch or job with id '{batch_id}'.", code="not_found")
