"""The local stack's SQS is moto's, changed so a long batch's backlog does not make every
receive slower (``install()``): moto reads its clock (a datetime, built afresh) once per
queued message each time it looks for visible messages or counts them, so each receive costs
more the more lines wait, and a batch of N lines costs N². Here the clock is read once per
look; which messages are visible, in flight or delayed is decided as moto decides it
(``tests/integration/test_moto_sqs.py`` holds the two equal)."""

from typing import Any

from moto.core.utils import unix_time_millis
from moto.sqs.models import Message, Queue


def _visible(message: Message, now: float) -> bool:
    return now > message.visible_at


def _delayed(message: Message, now: float) -> bool:
    return now < message.delayed_until


def messages(self: Queue) -> list[Message]:
    now = unix_time_millis()
    return [m for m in self._messages if _visible(m, now) and not _delayed(m, now)]


def delayed(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for m in self._messages if _delayed(m, now))


def not_visible(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for m in self._messages if not _visible(m, now))


MOTO_QUEUE: dict[str, Any] = {
    name: Queue.__dict__[name]
    for name in (
        "messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    )
}


def install() -> None:
    """Change moto's SQS in this process (idempotent)."""
    Queue.messages = property(messages)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_delayed = property(delayed)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_not_visible = property(not_visible)  # type: ignore[assignment,method-assign]
