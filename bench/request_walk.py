"""The walk one warm request takes through imagegate's modules: every call into a module of
``handler`` from another module (or from outside) is an entry. Reports how many modules the
request crosses, how many functions it calls, and which modules it enters more than once
(the money package, where a request's charge lives, counted apart).

One ``POST /v1/images/generations`` (the sample event, ``url`` answers) through
``handler.main.api.lambda_handler`` against moto in process, after one warm-up request:

    .venv/bin/python bench/request_walk.py [--format url|b64_json] [--all]
"""

import argparse
import json
import logging
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MONEY = "handler.money"


class Context:
    function_name = "imagegate-ApiFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:imagegate-api"
    aws_request_id = "walk"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _ours(frame: FrameType | None) -> str | None:
    """The handler module a frame runs in (the CLI's local stack is not the request's)."""
    name = frame.f_globals.get("__name__", "") if frame is not None else ""
    if name == "handler" or (name.startswith("handler.") and not name.startswith("handler.cli")):
        return str(name)
    return None


class Walk:
    """Every entry into a module, and the entries on the walk's spine: those whose function
    went on into another of our modules (a record's property or a helper that calls nothing
    of ours is a leaf, not a step of the walk)."""

    def __init__(self) -> None:
        self.entries: list[str] = []  # modules, in the order they were entered
        self.called: list[str] = []  # those entered from another of our modules
        self.spine: list[str] = []  # those of ``called`` that went on into another module
        self.callers: list[str] = []  # the module each of ``called`` was entered from
        self.functions: set[tuple[str, str]] = set()
        self._stacks: dict[int, list[list[Any]]] = {}
        self._lock = threading.Lock()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event not in ("call", "return"):
            return
        module = _ours(frame)
        if module is None:
            return
        with self._lock:
            stack = self._stacks.setdefault(threading.get_ident(), [])
            if event == "return":
                if stack and stack[-1][0] is frame:
                    _, place, went_on = stack.pop()
                    if place is not None and went_on:
                        self.spine[place] = self.called[place]
                return
            caller = _ours(frame.f_back)
            self.functions.add((module, frame.f_code.co_qualname))
            if caller != module:
                self.entries.append(module)
            place = None
            if caller not in (None, module):
                place = len(self.called)
                self.called.append(module)
                self.callers.append(str(caller))
                self.spine.append("")
                for entry in reversed(stack):  # the nearest caller still running goes on
                    if entry[1] is not None:
                        entry[2] = True
                        break
            stack.append([frame, place, False])


def _again(what: str, entries: list[str]) -> None:
    """How many ``entries`` there were, and the modules outside money entered more than once."""
    entries = [m for m in entries if m]
    again = Counter(m for m in entries if not m.startswith(MONEY))
    print(f"  {what}: {len(entries)}; modules outside money entered more than once:")
    repeated = sorted((m, n) for m, n in again.items() if n > 1)
    for module, times in sorted(repeated, key=lambda item: -item[1]):
        print(f"    {module}: {times}")
    if not repeated:
        print("    none")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--format", choices=["url", "b64_json"], default="url")
    parser.add_argument("--all", action="store_true", help="list every module's entries")
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="walk", AWS_SECRET_ACCESS_KEY="walk", AWS_DEFAULT_REGION="us-east-1"
    )
    from moto import mock_aws

    from handler.cli.local import in_process_stack
    from handler.main import api as entry
    from handler.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115
    report, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115
    with mock_aws():
        key = in_process_stack("walk", ROOT / "infra" / "catalog.json")
        event = json.loads((ROOT / "events" / "api_generate_url.json").read_text())
        body = json.loads(event["body"])
        body["response_format"] = args.format
        event["body"] = json.dumps(body)
        event["headers"]["Authorization"] = f"Bearer {key.plaintext}"
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {key.plaintext}"]
        assert entry.lambda_handler(event, Context())["statusCode"] == 200  # warm
        walk = Walk()
        # Python 3.12+: threads already running too (the app's worker threads)
        every_thread = getattr(threading, "setprofile_all_threads", threading.setprofile)
        every_thread(walk)
        sys.setprofile(walk)
        try:
            assert entry.lambda_handler(event, Context())["statusCode"] == 200
        finally:
            sys.setprofile(None)
            every_thread(None)
    sys.stdout = report
    entered = Counter(walk.entries)
    outside = {m: n for m, n in entered.items() if not m.startswith(MONEY)}
    print(f"POST /v1/images/generations ({args.format}), warm, through the Lambda entry:")
    print(f"  modules crossed: {len(entered)} ({len(entered) - len(outside)} in the money package)")
    print(f"  functions called: {len(walk.functions)}")
    _again("entries", walk.entries)
    _again("entries from another of our modules (no library callbacks)", walk.called)
    _again("entries on the spine (calls that went on into another module)", walk.spine)
    # The money package's own storage writes through the aws leaf as often as it writes: what
    # the walk must not do is come back to a module outside money from outside money.
    from_outside = [
        module if not caller.startswith(MONEY) else ""
        for module, caller in zip(walk.spine, walk.callers, strict=True)
    ]
    _again("of those, entries from outside the money package", from_outside)
    if args.all:
        for module, times in sorted(entered.items()):
            print(f"  {module}: {times}")


if __name__ == "__main__":
    main()
