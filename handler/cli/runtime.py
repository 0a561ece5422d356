"""Lambda's SQS event sources, played locally for the functions ``template.yaml`` feeds from queues.

Each such function gets a thread that polls its queue, calls the handler in this process with
the event and context Lambda would pass (``sqs_event.py``), and deletes what Lambda would:
everything on a normal return, all but the reported failures under ``ReportBatchItemFailures``,
nothing when the handler raises or runs past its timeout. What is left shows again after the
queue's visibility timeout (the template's, unless a test shortens it); the queue's redrive
policy moves a message to its dead-letter queue after ``maxReceiveCount`` receives.

Dev-only: Lambda code never imports this.
"""

import logging
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from handler.cli.functions import Handler, QueueSource, import_handler, invoke, queue_sources
from handler.cli.sqs_event import LambdaContext, sqs_event, succeeded
from handler.cli.template import Template

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType
    from mypy_boto3_sqs.type_defs import (
        DeleteMessageBatchRequestEntryTypeDef,
        MessageTypeDef,
        ReceiveMessageRequestTypeDef,
    )

log = logging.getLogger(__name__)

_QUEUE_COUNTS: tuple["QueueAttributeNameType", ...] = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


class LocalRuntime:
    """One polling thread per queue-fed function; a context manager that starts and stops them.

    ``wait_until_idle()`` returns once every polled queue is empty and no handler is running,
    which is when a flow of messages (a batch, say) has run its course.
    """

    def __init__(
        self,
        template: Template,
        names: Mapping[str, str],
        sqs: "SQSClient",
        *,
        visibility_timeout: int | None = None,
        wait_seconds: int = 1,
    ):
        self.sources = queue_sources(template, names)
        self._sqs = sqs
        # None: each queue's own, as template.yaml sets it.
        self._visibility_timeout = visibility_timeout
        self._wait_seconds = wait_seconds  # how long a poll may hold up stop()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._changed = threading.Condition()
        self._running = 0
        self._finished = 0
        self._polls = {source.function: 0 for source in self.sources}

    def start(self) -> "LocalRuntime":
        if self._threads:
            raise RuntimeError("the local runtime is already running")
        # Imported here, not in the threads: a handler that cannot load fails the start.
        handlers = [(source, import_handler(source.handler)) for source in self.sources]
        self._stopping.clear()
        for source, handler in handlers:
            thread = threading.Thread(
                target=self._poll, args=(source, handler), name=source.function, daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop polling; a handler that is running finishes first."""
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def __enter__(self) -> "LocalRuntime":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_until_idle(self, timeout: float = 60.0) -> None:
        """Block until all polled queues are empty and no handler runs; TimeoutError if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            first = self._idle_snapshot()
            # A receive under way while the queues were read may still be moving a message
            # to a dead-letter queue: read them again once every poller has come round.
            if first is not None and self._wait_for_polls(first[1], deadline):
                second = self._idle_snapshot()
                if second is not None and second[0] == first[0]:
                    return
            with self._changed:
                self._changed.wait(timeout=max(0.0, min(0.1, deadline - time.monotonic())))
        raise TimeoutError(f"queues still busy after {timeout} s: {self._queue_counts()}")

    def _idle_snapshot(self) -> tuple[int, dict[str, int]] | None:
        """(invocations finished, polls made) when idle; None when something is going on."""
        with self._changed:
            finished, polls, running = self._finished, dict(self._polls), self._running
        if running or any(self._queue_counts().values()):
            return None
        with self._changed:
            if self._running or self._finished != finished:
                return None
        return finished, polls

    def _wait_for_polls(self, polls: dict[str, int], deadline: float) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: all(self._polls[name] > count for name, count in polls.items()),
                timeout=max(0.0, deadline - time.monotonic()),
            )

    def _queue_counts(self) -> dict[str, int]:
        counts = {}
        for url in {source.queue_url for source in self.sources}:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=list(_QUEUE_COUNTS)
            )["Attributes"]
            counts[url] = sum(int(attributes.get(name, "0")) for name in _QUEUE_COUNTS)
        return counts

    def _poll(self, source: QueueSource, handler: Handler) -> None:
        while not self._stopping.is_set():
            messages = receive(self._sqs, source, self._wait_seconds, self._visibility_timeout)
            if messages is None:  # SQS is away: no tight loop
                self._stopping.wait(self._wait_seconds)
                messages = []
            if messages:
                with self._changed:
                    self._running += 1
                try:
                    self._invoke(source, handler, messages)
                finally:
                    with self._changed:
                        self._running -= 1
                        self._finished += 1
            with self._changed:
                self._polls[source.function] += 1
                self._changed.notify_all()

    def _invoke(
        self, source: QueueSource, handler: Handler, messages: list["MessageTypeDef"]
    ) -> None:
        context = LambdaContext(source.function_arn, source.memory_mb, source.timeout_seconds)
        ids = [message["MessageId"] for message in messages]
        try:
            response = invoke(handler, sqs_event(source.queue_arn, messages), context, None)
        # Whatever escapes the handler ends the invocation, as a crashed Lambda process would:
        # every message of the batch stays for a retry.
        except BaseException:
            log.exception("%s failed; its %d messages stay queued", source.function, len(ids))
            return
        if context.get_remaining_time_in_millis() == 0:
            log.error("%s ran past its %d s timeout", source.function, source.timeout_seconds)
            return
        done = succeeded(response, ids) if source.report_failures else ids
        delete(self._sqs, source, [message for message in messages if message["MessageId"] in done])


def receive(
    sqs: "SQSClient", source: QueueSource, wait_seconds: int, visibility_timeout: int | None
) -> list["MessageTypeDef"] | None:
    """Up to a batch of the source's messages; None if SQS cannot be reached."""
    request: ReceiveMessageRequestTypeDef = {
        "QueueUrl": source.queue_url,
        "MaxNumberOfMessages": source.batch_size,
        "WaitTimeSeconds": wait_seconds,
        "MessageSystemAttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }
    if visibility_timeout is not None:
        request["VisibilityTimeout"] = visibility_timeout
    try:
        response = sqs.receive_message(**request)
    except (ClientError, BotoCoreError):
        log.exception("could not poll the queue of %s", source.function)
        return None
    return response.get("Messages", [])


def delete(sqs: "SQSClient", source: QueueSource, messages: list["MessageTypeDef"]) -> None:
    """Delete what the function processed (a failure is logged: the message shows again)."""
    if not messages:
        return
    entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
        for index, message in enumerate(messages)
    ]
    try:
        response = sqs.delete_message_batch(QueueUrl=source.queue_url, Entries=entries)
    except (ClientError, BotoCoreError):
        log.exception("could not delete what %s processed", source.function)
        return
    for failure in response.get("Failed", []):
        log.error("could not delete a message of %s: %s", source.function, failure)
