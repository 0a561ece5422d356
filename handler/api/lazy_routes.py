"""Route modules included when a request first asks for one of their paths.

Building a route is most of what building the app costs (FastAPI reads every parameter and
model of it). A cold start without a snapshot serves one request, which needs one module's
routes: each module then waits behind a ``LazyRoutes`` that knows only the paths of its
routes, in the place the module holds among the app's routes. The first request whose path is
one of them imports the module and includes its router there; from then on the app matches it
as if it had been included from the start, and a path that is none of them is never its. A
test holds each ``RouteModule``'s paths to its router's.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette._utils import get_route_path  # as FastAPI matches its own routes
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, compile_path
from starlette.types import Receive, Scope, Send

# One at a time, whichever app: including appends the module's routes to the app's, from where
# they are moved into the waiting module's place.
_including = threading.Lock()


@dataclass(frozen=True)
class RouteModule:
    """A module of routes: where it is mounted, the paths its routes declare (without the
    prefix), and its router, imported when ``load`` is called."""

    prefix: str
    paths: tuple[str, ...]
    load: Callable[[], APIRouter]


class LazyRoutes(BaseRoute):
    def __init__(self, app: FastAPI, module: RouteModule):
        self.app_ = app
        self.module = module
        self._patterns = [compile_path(module.prefix + path)[0] for path in module.paths]
        self._included: BaseRoute | None = None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path = get_route_path(scope)
        if not any(pattern.match(path) for pattern in self._patterns):
            return Match.NONE, {}
        return self.included().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.included().handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return self.included().url_path_for(name, **path_params)

    def included(self) -> BaseRoute:
        """The module's routes, included in this one's place (the first call imports it)."""
        if self._included is not None:
            return self._included
        with _including:
            if self._included is None:
                routes = self.app_.router.routes
                self.app_.include_router(self.module.load(), prefix=self.module.prefix)
                included = routes.pop()
                place = next(index for index, route in enumerate(routes) if route is self)
                routes[place] = self._included = included
            return self._included


def include_all(app: FastAPI) -> None:
    """Include every module still waiting: what the OpenAPI document and an init phase that is
    snapshotted (or provisioned) want."""
    for route in list(app.router.routes):
        if isinstance(route, LazyRoutes):
            route.included()
