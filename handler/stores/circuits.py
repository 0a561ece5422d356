"""Placements' circuits in the short-lived state table (the idempotency table): the item
``circuit#<model>#<placement>`` counts the failures of the current window, and once they
reach ``FAILURES`` holds ``open_until``: until then, no instance sends that placement work.

A request reads its model's circuits at most every ``CACHE_SECONDS`` per instance (one
``BatchGetItem``); a failure is one ``UpdateItem`` (two when it opens the circuit). Losing
an item loses nothing but a count: a circuit that cannot be read is taken as closed."""

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import batch_items, plain
from handler.aws.errors import Refused, aws_errors
from handler.aws.expressions import attr
from handler.aws.writes import Update
from handler.core.errors import StorageError
from handler.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

FAILURES = 3  # in one window: the circuit opens
WINDOW_SECONDS = 60
OPEN_SECONDS = 30
CACHE_SECONDS = 5.0


class DynamoDBCircuits:
    def __init__(
        self,
        table: str,
        client: "DynamoDBClient | None" = None,
        clock: Callable[[], float] = time.time,
    ):
        self._table = table
        self._client = client or dynamodb_client()
        self._clock = clock
        self._known: dict[str, tuple[float, float]] = {}  # circuit → (read at, open until)
        self._lock = threading.Lock()

    def open_until(self, circuits: Sequence[str]) -> dict[str, float]:
        now = self._clock()
        with self._lock:
            stale = [
                c
                for c in circuits
                if now - self._known.get(c, (-CACHE_SECONDS, 0))[0] >= CACHE_SECONDS
            ]
        if stale:
            read = self._read(stale)
            with self._lock:
                self._known.update({circuit: (now, read.get(circuit, 0.0)) for circuit in stale})
        with self._lock:
            return {circuit: self._known[circuit][1] for circuit in circuits}

    def failed(self, circuit: str) -> None:
        now = self._clock()
        try:
            failures = self._count(circuit, int(now // WINDOW_SECONDS), now)
            if failures >= FAILURES:
                until = int(now) + OPEN_SECONDS
                opening = Update(self._table, {"id": circuit}).set("open_until", until)
                with aws_errors("Could not open a circuit."):
                    self._client.update_item(**opening.request())
                with self._lock:
                    self._known[circuit] = (now, until)
                logger.warning("circuit opened", circuit=circuit, failures=failures, until=until)
        except StorageError:
            logger.exception("circuit failure not counted", circuit=circuit)

    def _count(self, circuit: str, window: int, now: float) -> int:
        """The failures of ``window`` with this one: added to the window's count, or a count
        begun afresh if the item holds an older window."""
        expiration = int(now) + WINDOW_SECONDS + OPEN_SECONDS + 60
        key = {"id": circuit}
        counted = (
            Update(self._table, key)
            .add("failures", 1)
            .set("expiration", expiration)
            .require(attr("window").eq(window))
        )
        begun = (
            Update(self._table, key)
            .set("window", window)
            .set("failures", 1)
            .set("expiration", expiration)
            .require(attr("window").not_exists() | attr("window").lt(window))
        )
        for _ in range(2):  # a race with another instance beginning the window: count again
            for update in (counted, begun):
                try:
                    with aws_errors(
                        "Could not count a failure.", expected={"ConditionalCheckFailedException"}
                    ):
                        answer = self._client.update_item(
                            **update.request(ReturnValues="UPDATED_NEW")
                        )
                    return int(plain(answer["Attributes"])["failures"])
                except Refused:
                    continue
        raise StorageError("Could not count a failure: the window kept changing.")

    def _read(self, circuits: Sequence[str]) -> dict[str, float]:
        try:
            items = batch_items(
                self._client,
                self._table,
                [{"id": {"S": circuit}} for circuit in circuits],
                "Could not read the placements' circuits.",
            )
        except StorageError:
            logger.exception("circuits not read: taken as closed")
            return {}
        values = [plain(item) for item in items]
        return {value["id"]: float(value.get("open_until", 0)) for value in values}
