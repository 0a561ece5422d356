"""JSON request bodies, read the same strict way on every route.

FastAPI parses a declared body with ``request.json()`` and turns only a
``json.JSONDecodeError`` into a validation error; anything else the parser raises (a number
of more digits than Python converts, nesting deeper than its recursion limit) becomes a bare
400 with no code. ``JsonBodyRoute`` hands its endpoints a request whose ``json()`` raises
``JSONDecodeError`` for every way a body can fail to be JSON, so all of them are answered
400 ``invalid_json``, saying why. A body is JSON only as UTF-8 text, uncompressed.
"""

import json
from collections.abc import Callable, Coroutine, Mapping
from email.message import Message
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


def parse_json(body: bytes, headers: Mapping[str, str]) -> Any:
    """The body's JSON value; ``json.JSONDecodeError`` saying why when there is none."""
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise _unreadable(f"Content-Encoding '{encoding}' is not accepted; send it as is", body)
    content_type = Message()
    content_type["content-type"] = headers.get("content-type", "application/json")
    charset = content_type.get_param("charset")
    if isinstance(charset, str) and charset.lower() not in ("utf-8", "utf8"):
        raise _unreadable(f"the body must be UTF-8, not {charset}", body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _unreadable(f"the body is not UTF-8 (byte {exc.start})", body, exc.start) from None
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise
    except _NotJson as exc:
        raise _unreadable(str(exc), body) from None
    except RecursionError:
        raise _unreadable("it is nested too deeply", body) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise _unreadable(str(exc).split(":", 1)[0], body) from None


class _NotJson(ValueError):
    """What Python's parser takes and JSON does not."""


def _no_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:  # Python would keep the last; which one the client meant is unknown
            raise _NotJson(f"the key {json.dumps(key)} is given twice")
        found[key] = value
    return found


def _unreadable(reason: str, body: bytes, position: int = 0) -> json.JSONDecodeError:
    return json.JSONDecodeError(reason, body.decode("utf-8", errors="replace"), position)


class _StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body(), self.headers)
        return self._json


class JsonBodyRoute(APIRoute):
    """A route whose declared JSON body is read by ``parse_json``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handle(_StrictJsonRequest(request.scope, request.receive))

        return strict
