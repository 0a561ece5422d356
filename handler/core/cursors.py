"""Ids that say where an item stands in its key's time-ordered records, so a page's ``after``
is a place to go on from, not a lookup: ``<prefix><ms, 13 digits>_<reference>``."""

from collections.abc import Callable, Sequence

from handler.core.errors import InvalidRequest


def place_id(prefix: str, at_ms: int, reference: str) -> str:
    return f"{prefix}{at_ms:013d}_{reference}"


# Whether the caller's own list holds the item of a place: ``(at, reference)``.
Held = Callable[[int, str], bool]


def place_of(prefix: str, item_id: str, what: str, held: Held | None = None) -> tuple[int, str]:
    """``(at, reference)`` of an id made by ``place_id``, or a clear 400 naming ``after``;
    with ``held``, the same 400 for an id that is not the caller's own (another key's, or one
    made up), so a page goes on only from where the caller's own list stood."""
    at, _, reference = item_id.removeprefix(prefix).partition("_")
    if not item_id.startswith(prefix) or len(at) != 13 or not at.isdigit() or not reference:
        raise InvalidRequest(f"{item_id!r} is not {what} id.", param="after")
    if held is not None and not held(int(at), reference):
        raise InvalidRequest(f"{item_id!r} is not {what} of this key.", param="after")
    return int(at), reference


def ends(ids: Sequence[str]) -> tuple[str | None, str | None]:
    """A page's ``first_id`` and ``last_id``."""
    return (ids[0], ids[-1]) if ids else (None, None)
