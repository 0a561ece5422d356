"""Batches: lines a key submits inline or as a file, split and queued by the splitter, each
line charged when it runs to the key that submitted the batch. A submission is refused if the
key could not pay for even the cheapest line; lines not yet started can be cancelled, unpaid."""

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from handler.core.catalog import Catalog
from handler.core.deadline import Deadline
from handler.core.errors import InvalidRequest, StorageError
from handler.core.idempotency import idempotency_scope
from handler.core.records.charges import Admission
from handler.core.records.keys import Credentials
from handler.core.records.work import MAX_INPUT_BYTES, Batch, Work, upload_key
from handler.core.validation import check_metadata
from handler.money.policy import Meter
from handler.money.pricing import cheapest_line
from handler.observability import logger
from handler.ports.batch_files import BatchFiles
from handler.ports.notifier import Notifier
from handler.work.intake import Intake, missing
from handler.work.views import describe


@dataclass(frozen=True, slots=True)
class Batches:
    intake: Intake
    catalog: Catalog
    files: BatchFiles
    notifier: Notifier

    def submit(
        self,
        credentials: Credentials,
        *,
        lines: Sequence[Mapping[str, Any]] | None,
        webhook_url: str | None,
        metadata: Mapping[str, str],
        deadline: Deadline,
        meter: Meter,
        idempotency_key: str | None = None,
    ) -> Batch:
        """Record a batch whose input is ``lines``, or, without them, one that waits for its
        file at ``upload_key(batch)``. The splitter takes it from there either way. Refused
        if the key could not pay for even the cheapest line; the submission is one request
        of the key's window. With an ``idempotency_key``, a retried submission finds the
        batch the first one made."""
        if idempotency_key is None:
            return self._record_batch(credentials, lines, webhook_url, metadata, meter)
        scope = idempotency_scope("batch", credentials, idempotency_key)
        digest = hashlib.sha256(
            json.dumps([lines, webhook_url, dict(metadata)], sort_keys=True).encode()
        ).hexdigest()

        made: list[Batch] = []

        def submit() -> dict[str, Any]:
            made.append(self._record_batch(credentials, lines, webhook_url, metadata, meter))
            return {"id": made[0].id}

        kept = self.intake.idempotency.once(scope, digest, submit, deadline)
        if made:  # the first submission: the batch is in hand, no need to read it back
            return made[0]
        self.intake.replayed(credentials, meter)
        return self.intake.owned_as(Batch, str(kept.get("id")), credentials)

    def _record_batch(
        self,
        credentials: Credentials,
        lines: Sequence[Mapping[str, Any]] | None,
        webhook_url: str | None,
        metadata: Mapping[str, str],
        meter: Meter,
    ) -> Batch:
        clock = self.intake.clock()
        now = int(clock)
        check_metadata(metadata)
        webhook_url = self.intake.webhook_url(webhook_url)
        data = None
        if lines is not None:
            if not lines:
                raise InvalidRequest("input must hold at least one line.", param="input")
            data = "".join(json.dumps(line) + "\n" for line in lines).encode()
            if len(data) > MAX_INPUT_BYTES:
                raise InvalidRequest("input is over a batch's size limit.", param="input")
        # Checked like a request: a bad body never reaches the ledger.
        self.intake.check_webhook_host(webhook_url, credentials)
        self.intake.charging.admit(credentials, Admission(cheapest_line(self.catalog)), meter)
        batch = Batch(
            id=f"batch_{secrets.token_hex(12)}",
            key_id=credentials.key_id,
            status="awaiting_upload" if lines is None else "validating",
            created_at=now,
            created_ms=int(clock * 1000),
            webhook_url=webhook_url,
            metadata=dict(metadata),
        )
        self.intake.store.create(batch)
        if data is not None:
            # Its arrival in the bucket is what starts the splitter.
            self.files.write_input(upload_key(batch), data)
        logger.info(
            "batch submitted", batch_id=batch.id, key_id=batch.key_id, inline=data is not None
        )
        return batch

    def cancel(self, batch_id: str, credentials: Credentials) -> Work:
        """Lines not yet started end as cancelled and cost nothing; running ones finish."""
        if not isinstance(self.intake.owned(batch_id, credentials), Batch):
            raise missing(batch_id)  # a job's id reads as missing, as another key's does
        now = int(self.intake.clock())
        # Not uploaded yet: nothing will ever run, so it is over now.
        unstarted = self.intake.store.transition(
            batch_id,
            from_=["awaiting_upload"],
            to="cancelled",
            changes={"cancelled_at": now, "finished_at": now},
        )
        if unstarted is not None:
            try:
                self.notifier.finished(unstarted, describe(unstarted), describe(unstarted))
            except StorageError:  # it is cancelled: the answer says so, heard of or not
                logger.exception("cancelled batch not announced", batch_id=batch_id)
            return unstarted
        cancelling = self.intake.store.transition(
            batch_id,
            from_=["validating", "in_progress"],
            to="cancelling",
            changes={"cancelled_at": now},
        )
        # None: finished or being cancelled already; nothing to do.
        return cancelling or self.intake.owned(batch_id, credentials)
