"""Lambda SQS handlers for the local runtime's tests, steered by their messages' bodies.

A body is JSON: ``{"fail": n}`` reports the message as a batch item failure on its first n
receives; ``{"crash": n}`` makes the whole invocation raise on the message's first n receives
(``"exit": true`` raises SystemExit instead, as a process that quits would); ``{"slow": n}``
takes a second and a half over its first n receives (past a one-second Timeout). Anything
else succeeds. The instructions steer the worker only: the splitter and the dead-letter
function take every message. Every invocation is recorded in ``INVOCATIONS``.
"""

import json
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Invocation:
    function: str
    event: dict[str, Any]
    context: Any
    outcome: str  # "returned" or "raised"

    @property
    def message_ids(self) -> list[str]:
        return [record["messageId"] for record in self.event["Records"]]


INVOCATIONS: list[Invocation] = []
_lock = threading.Lock()


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    crash: BaseException | None = None
    steered = context.function_name == "WorkerFunction"
    for record in event["Records"]:
        instructions = json.loads(record["body"]) if steered else {}
        receives = int(record["attributes"]["ApproximateReceiveCount"])
        if receives <= instructions.get("fail", 0):
            failures.append({"itemIdentifier": record["messageId"]})
        if receives <= instructions.get("slow", 0):
            time.sleep(1.5)
        if receives <= instructions.get("crash", 0):
            exit_ = instructions.get("exit", False)
            crash = SystemExit(1) if exit_ else RuntimeError("a crash the test asked for")
    _record(Invocation(context.function_name, event, context, "raised" if crash else "returned"))
    if crash is not None:
        raise crash
    return {"batchItemFailures": failures}


def _record(invocation: Invocation) -> None:
    with _lock:
        INVOCATIONS.append(invocation)


def invocations(function: str) -> list[Invocation]:
    with _lock:
        return [invocation for invocation in INVOCATIONS if invocation.function == function]


def reset() -> None:
    with _lock:
        INVOCATIONS.clear()
