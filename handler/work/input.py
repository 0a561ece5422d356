"""OpenAI Batch JSONL, one request per line:
``{"custom_id": "...", "method": "POST", "url": "/v1/images/generations", "body": {...}}``.

A line that cannot be run is not a failed batch: it becomes that line's error result, and
the rest go on. Bodies are checked as the API checks them (same schema, same catalog), so a
line that would get a 400 gets its 400 here, before anything is queued or charged.
"""

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from handler.core.catalog import Catalog
from handler.core.errors import ApiError, InvalidRequest
from handler.core.image_input import from_request
from handler.core.records.work import (
    MAX_LINE_BYTES,
    MAX_LINES,
    LineResult,
    WorkItem,
    error_result,
    unrun_result,
)
from handler.core.schemas import parse_request
from handler.core.spec_rules import build_spec
from handler.core.validation import is_text

ENDPOINT = "/v1/images/generations"
MAX_CUSTOM_ID_CHARS = 512
# Per-API-request extensions that mean nothing inside a batch.
_NOT_IN_LINES = ("async", "webhook_url", "stream", "partial_images")


def count_lines(lines: Iterable[bytes]) -> int:
    """The lines of a file read as it streams, checked as a whole before any is queued: UTF-8
    text (a BOM allowed), at least one line, at most ``MAX_LINES``."""
    total = sum(1 for _ in _text_lines(lines))
    if total == 0:
        raise InvalidRequest("The input file has no lines.", param="input")
    if total > MAX_LINES:
        raise InvalidRequest(
            f"The input file has {total} lines; a batch takes at most {MAX_LINES}.",
            param="input",
        )
    return total


def parse_lines(
    batch_id: str, lines: Iterable[bytes], catalog: Catalog, *, start: int = 0
) -> Iterator[WorkItem | LineResult]:
    """Every non-blank line (``count_lines`` has checked the file), numbered from 0, as work
    or as its error, from line ``start`` on (earlier lines are read for their custom_id)."""
    seen: set[str] = set()
    for index, line in enumerate(_text_lines(lines)):
        outcome = parse_line(batch_id, index, line, catalog, seen)  # earlier: for ``seen``
        if index >= start:
            yield outcome


def _text_lines(lines: Iterable[bytes]) -> Iterator[str]:
    """The file's non-blank lines as text (a BOM on the first dropped)."""
    for number, raw in enumerate(lines):
        try:
            line = raw.decode("utf-8-sig" if number == 0 else "utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest("The input file is not UTF-8 text.", param="input") from None
        if line.strip():
            yield line


def parse_line(
    batch_id: str, index: int, line: str, catalog: Catalog, seen: set[str]
) -> WorkItem | LineResult:
    unread = WorkItem(batch_id, index, None, {})
    if len(line.encode()) > MAX_LINE_BYTES:
        return unrun_result(
            unread, "line_too_large", f"A batch line may be at most {MAX_LINE_BYTES} bytes."
        )
    try:
        envelope = json.loads(line)
    except json.JSONDecodeError:
        return unrun_result(unread, "invalid_json", "The line is not a JSON object.")
    if not isinstance(envelope, dict):
        return unrun_result(unread, "invalid_json", "The line is not a JSON object.")
    custom_id = envelope.get("custom_id")
    if (
        not isinstance(custom_id, str)
        or not 0 < len(custom_id) <= MAX_CUSTOM_ID_CHARS
        or not is_text(custom_id)
    ):
        return unrun_result(
            unread,
            "invalid_custom_id",
            f"custom_id must be a string of 1 to {MAX_CUSTOM_ID_CHARS} characters of text.",
        )
    item = WorkItem(batch_id, index, custom_id, envelope.get("body") or {})
    if custom_id in seen:
        return unrun_result(
            item, "duplicate_custom_id", f"custom_id {custom_id!r} is used by an earlier line."
        )
    seen.add(custom_id)
    if envelope.get("method", "POST") != "POST" or envelope.get("url", ENDPOINT) != ENDPOINT:
        return unrun_result(item, "invalid_url", f"Batch lines are POST {ENDPOINT} requests.")
    try:
        check_body(item.body, catalog)
    except ApiError as exc:
        return error_result(item, exc)
    return item


def check_body(body: Mapping[str, Any], catalog: Catalog) -> None:
    """Raise what the API would answer this body with, short of charging for it."""
    for name in _NOT_IN_LINES:
        if isinstance(body, Mapping) and name in body:
            raise InvalidRequest(f"{name} does not apply to batch lines.", param=name)
    request = parse_request(body)
    build_spec(catalog.get(request.model), request, "check", from_request(request))
