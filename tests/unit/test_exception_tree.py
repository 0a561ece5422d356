"""One exception tree: every exception the handler raises is an ``ImagegateError``, either an
``ApiError`` a client sees or an ``Outcome`` its caller handles, and an outcome that escapes
is answered as the bug it is, never as a client's error."""

import importlib
import inspect
from typing import Any, cast

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from handler.app import create_app
from handler.aws.errors import Refused
from handler.core.errors import ApiError, ImagegateError, InvalidRequest, Outcome, StorageError
from handler.core.outcomes import KeyChanged
from handler.core.records.charges import Charge, WindowUpkeep
from handler.core.records.work import retryable
from handler.money.charging import Charging, Reservation
from handler.money.paid import PaidGeneration
from handler.money.quotes import Quotes
from handler.observability import logger
from handler.ports.quotes import QuoteStore
from tests.support import ROOT

HANDLER = ROOT / "handler"
SHIPPED = sorted(path for path in HANDLER.rglob("*.py") if HANDLER / "cli" not in path.parents)
# Private, and kept on a library's base so that the library carries them through its code.
LIBRARY_BASED = {"handler.api.json_body._NotJson", "handler.api.forms._Refused"}


def _module(path: Any) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _shipped_exceptions() -> list[type[BaseException]]:
    found = []
    for path in SHIPPED:
        name = _module(path)
        for value in vars(importlib.import_module(name)).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and f"{name}.{value.__qualname__}" not in LIBRARY_BASED
            ):
                found.append(value)
    return found


def test_every_shipped_exception_is_in_the_tree_and_drawn_at_its_root() -> None:
    exceptions = _shipped_exceptions()
    assert Outcome in exceptions
    assert [e.__name__ for e in exceptions if not issubclass(e, ImagegateError)] == []
    assert [e.__name__ for e in exceptions if not issubclass(e, ApiError | Outcome)] == [
        "ImagegateError"
    ]
    drawn = {
        line.lstrip(" │├└─").split(" ")[0] for line in (ImagegateError.__doc__ or "").splitlines()
    }
    assert [e.__name__ for e in exceptions if e.__name__ not in drawn] == []


def test_an_outcome_that_escapes_is_a_logged_500_that_says_nothing_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = APIRouter()

    @router.get("/v1/escapes")
    def escapes() -> None:
        raise Refused("ConditionalCheckFailedException", {"Item": {"secret": "s3cr3t"}})

    logged: list[str] = []
    monkeypatch.setattr(logger, "exception", lambda message, **_: logged.append(message))
    answer = TestClient(create_app([(router, "")])).get("/v1/escapes")
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
    assert answer.headers["x-should-retry"] == "false"
    assert logged == ["unhandled error"]


def test_a_queued_line_that_an_outcome_escapes_is_a_crash_to_try_again() -> None:
    assert retryable(KeyChanged())
    assert retryable(StorageError("lost"))
    assert not retryable(InvalidRequest("bad"))


def test_a_request_an_outcome_escapes_is_refunded_as_an_internal_error() -> None:
    settled: list[str | None] = []

    class Charges:
        def settle(
            self,
            reservation: Reservation,
            delivered: int,
            *,
            error_code: str,
            result: object,
            trail: object,
        ) -> None:
            settled.append(error_code)

    released: list[tuple[str, str]] = []

    class Held:
        def release(self, quote_id: str, request_id: str) -> None:
            released.append((quote_id, request_id))

    paid = PaidGeneration(cast(Charging, Charges()), Quotes(cast(QuoteStore, Held()), "usd"))
    charge = Charge("req_1", "m", "512x512", 1, 1000, 0)
    reservation = Reservation("k", charge, 0, WindowUpkeep(), quote_id="quote_1")
    with (
        pytest.raises(Refused),
        paid.paying(reservation),
    ):
        raise Refused("ConditionalCheckFailedException", {})
    assert settled == ["internal_error"]  # not the AWS error's code
    assert released == [("quote_1", "req_1")]  # nothing delivered: its quote is given back
