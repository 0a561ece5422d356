"""OpenAI's list object: a page of items, newest first, with the ids to go on from (the
official SDKs' auto-pagination passes ``last_id`` back as ``after``)."""

from typing import Annotated, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel

from handler.core.cursors import ends

MAX_PAGE = 100

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")]
PageAfter = Annotated[str | None, Query(description="The last id of the previous page.")]


class Listed(BaseModel):
    """An item of a list: its id is where a page ends."""

    id: str


T = TypeVar("T", bound=Listed)


class CursorPage(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]
    first_id: str | None
    last_id: str | None
    has_more: bool

    @classmethod
    def of(cls, data: list[T], *, has_more: bool) -> "CursorPage[T]":
        first, last = ends([row.id for row in data])
        return cls(data=data, first_id=first, last_id=last, has_more=has_more)
