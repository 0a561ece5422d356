"""From an input file in the bucket to queued lines.

A file lands under ``batches/input/<key id>/``: the key id in its path is the key that pays
(the bucket's writers are trusted to name it; a path that names no active key is refused).
A file named ``<batch id>.jsonl`` completes the batch of that id, submitted through the API;
any other name starts a new batch whose id is derived from the object, so a redelivered
notification finds the batch it started.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from handler.core.catalog import Catalog
from handler.core.errors import AuthenticationFailed, InvalidRequest
from handler.core.records.keys import Owner
from handler.core.records.work import INPUT_PREFIX, MAX_INPUT_BYTES, Batch, Work, WorkItem
from handler.money.policy import check_key
from handler.money.pricing import cheapest_line
from handler.observability import logger
from handler.ports.batch_files import BatchFiles
from handler.ports.keys import KeyStore
from handler.ports.work_queue import WorkQueue
from handler.ports.work_store import WorkStore
from handler.work.finish import Finisher
from handler.work.input import count_lines, parse_lines

SPLIT_CHUNK = 500  # lines queued between notes of how far the split got


@dataclass(frozen=True, slots=True)
class Splitter:
    bucket: str
    catalog: Catalog
    keys: KeyStore
    store: WorkStore
    files: BatchFiles
    queue: WorkQueue
    finisher: Finisher
    clock: Callable[[], float] = field(default=time.time)

    def split(self, bucket: str, object_key: str, etag: str) -> Work | None:
        """Validate and queue the file's lines; the batch, or None if the file was refused."""
        if bucket != self.bucket:  # the queue's policy admits any bucket of the account
            logger.warning("input from another bucket ignored", bucket=bucket)
            return None
        key = unquote_plus(object_key)
        batch = self._batch_of(key, etag)
        if batch is None:
            return None
        if batch.status == "validating" or (batch.status == "cancelling" and batch.total == 0):
            self._queue_lines(batch, key)
        # Also when split already (a redelivered event): a crashed finalization resumes.
        self.finisher.finish(batch.id)
        return self.store.get(batch.id)

    def _queue_lines(self, batch: Work, key: str) -> None:
        """Read the file twice as it streams: once to check it whole (nothing is queued from
        a file refused at its last line), then to queue its lines a chunk at a time, noting
        how far it got after each, so a redelivered notification resumes there."""
        try:
            total = count_lines(self.files.input_lines(key, max_bytes=MAX_INPUT_BYTES))
        except InvalidRequest as exc:
            failed = self.store.transition(
                batch.id,
                from_=["validating", "cancelling"],
                to="failed",
                changes={"error": exc.message, "finished_at": int(self.clock())},
            )
            logger.warning("batch input refused", batch_id=batch.id, reason=exc.message)
            if failed is not None:
                self.finisher.announce(failed)
            return
        lines = self.files.input_lines(key, max_bytes=MAX_INPUT_BYTES)
        queued = invalid = 0
        chunk: list[WorkItem] = []
        for outcome in parse_lines(batch.id, lines, self.catalog, start=batch.split_through):
            if isinstance(outcome, WorkItem):
                chunk.append(outcome)
            else:
                self.store.record(outcome)  # once, however often the line is read
                invalid += 1
            if len(chunk) == SPLIT_CHUNK:
                queued += self._send(batch.id, chunk, through=outcome.index + 1)
        if chunk:
            queued += self._send(batch.id, chunk, through=total)
        split = self.store.transition(
            batch.id, from_=["validating"], to="in_progress", changes={"total": total}
        ) or self.store.transition(  # cancelled meanwhile: its lines will end as cancelled
            batch.id, from_=["cancelling"], to="cancelling", changes={"total": total}
        )
        logger.info(
            "batch split",
            batch_id=batch.id,
            lines=total,
            resumed_at=batch.split_through,
            queued=queued,
            invalid=invalid,
            status=split.status if split else None,
        )

    def _send(self, batch_id: str, chunk: list[WorkItem], *, through: int) -> int:
        """Queue ``chunk`` and note the lines before ``through`` done. A crash between the
        two sends this chunk again on redelivery (the worker runs a line once)."""
        self.queue.send(chunk)
        self.store.note_split(batch_id, through)
        sent = len(chunk)
        chunk.clear()
        return sent

    def _refusal(self, key_id: str) -> str | None:
        """Why the key named by a dropped file may not start a batch, as the API would say."""
        now = self.clock()
        try:
            owner = check_key(self.keys.get(key_id), Owner(key_id), now)
        except AuthenticationFailed as exc:
            return exc.message
        cheapest = cheapest_line(self.catalog)
        if owner.funds.balance < cheapest:
            return f"the key's balance is below the cheapest line ({cheapest} micro-units)"
        return None

    def _batch_of(self, key: str, etag: str) -> Work | None:
        parts = key.removeprefix(f"{INPUT_PREFIX}/").split("/")
        if len(parts) != 2 or not all(parts) or not key.startswith(f"{INPUT_PREFIX}/"):
            logger.error("batch input refused: its path names no key id", object_key=key)
            return None
        key_id, name = parts
        stem = name.removesuffix(".jsonl")
        submitted = self.store.get(stem) if stem.startswith("batch_") else None
        if isinstance(submitted, Batch) and submitted.key_id == key_id:
            started = self.store.transition(
                stem, from_=["awaiting_upload"], to="validating", changes={"input_key": key}
            )
            return started or submitted
        refused = self._refusal(key_id)
        if refused is not None:
            logger.error("batch input refused", object_key=key, key_id=key_id, reason=refused)
            return None
        digest = hashlib.sha256(f"{self.bucket}/{key}#{etag}".encode()).hexdigest()
        now = self.clock()
        batch = Batch(
            id=f"batch_{digest[:24]}",
            key_id=key_id,
            status="validating",
            created_at=int(now),
            created_ms=int(now * 1000),
            input_key=key,
        )
        if self.store.create(batch):
            logger.info("batch started from a file", batch_id=batch.id, key_id=key_id)
            return batch
        return self.store.get(batch.id)
