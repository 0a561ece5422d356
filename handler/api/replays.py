"""``Idempotency-Key`` in the answers (``core/idempotency.py`` holds the rule): the replay
mark every route sets, and the first answer of an operator's money movement kept and given
again."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from handler.api.deps import DeadlineDep
from handler.api.services import services_of
from handler.core.deadline import Deadline
from handler.core.idempotency import idempotency_scope
from handler.ports.idempotency import Idempotency

M = TypeVar("M", bound=BaseModel)


def mark_replayed(response: Response, replayed: bool) -> None:
    """The header that tells a client this is the first answer to its Idempotency-Key."""
    if replayed:
        response.headers["idempotent-replayed"] = "true"


@dataclass(frozen=True, slots=True)
class Replays:
    idempotency: Idempotency
    deadline: Deadline
    key: str | None  # the request's Idempotency-Key
    response: Response

    def once(
        self, owner: str, fingerprint: str | None, answer: Callable[[], M], model: type[M]
    ) -> M:
        """``answer()`` of a money movement on the key ``owner``; with an Idempotency-Key,
        its first run's answer (another ``fingerprint`` under the key: 409)."""
        if self.key is None or fingerprint is None:
            return answer()
        kept, replayed = answered_once(
            self.idempotency,
            idempotency_scope("movement", owner, self.key),
            fingerprint,
            lambda: answer().model_dump(mode="json"),
            self.deadline,
        )
        mark_replayed(self.response, replayed)
        return model.model_validate(kept)


async def get_replays(request: Request, response: Response, deadline: DeadlineDep) -> Replays:
    key = request.headers.get("idempotency-key")
    return Replays(services_of(request).idempotency(), deadline, key, response)


ReplaysDep = Annotated[Replays, Depends(get_replays)]


def answered_once(
    idempotency: Idempotency,
    scope: str,
    fingerprint: str,
    work: Callable[[], dict[str, Any]],
    deadline: Deadline,
) -> tuple[dict[str, Any], bool]:
    """``work()``'s answer, run once for ``scope``; and whether it is the first run's,
    replayed (this call did not run it)."""
    ran = False

    def first() -> dict[str, Any]:
        nonlocal ran
        ran = True
        return work()

    return idempotency.once(scope, fingerprint, first, deadline), not ran
