"""What the functions that serve an app through Mangum share (the API, the admin API, the
members' API): the app, built once (each route module left to its first request where the init
phase is on demand), Mangum around it, and each answer counted by its status class."""

from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi import FastAPI
from mangum.types import LambdaContext as MangumContext

from handler.api.lambda_entry import LambdaEntry
from handler.api.lazy_routes import include_all
from handler.main import phases
from handler.observability import count_status


class ServedApp:
    def __init__(self, build: Callable[..., FastAPI]):
        self._build = build  # called with lazy=: the app's route modules left to their requests
        self._app: FastAPI | None = None
        self._entry: LambdaEntry | None = None

    @property
    def built(self) -> bool:
        return self._entry is not None

    def app(self) -> FastAPI:
        if self._app is None:
            self._app = self._build(lazy=not phases.complete())
        return self._app

    def entry(self) -> LambdaEntry:
        """Mangum, with lifespan="off", each invocation on an event loop of its own."""
        if self._entry is None:
            self._entry = LambdaEntry(self.app())
        return self._entry

    def warm(self, everything: bool) -> None:
        """The app behind Mangum; every route module included too where the init phase makes
        everything."""
        self.entry()
        if everything:
            include_all(self.app())

    def answer(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # One Lambda context object; Powertools and Mangum each type it with their own protocol.
        response: dict[str, Any] = self.entry()(event, cast(MangumContext, context))
        count_status(int(response["statusCode"]))
        return response
