"""A FastAPI app of the given route modules, served by the given services: the same middleware
and error envelopes for the public app, the admin app and the members' (``handler/app.py``,
``admin_app.py``, ``member_app.py`` choose their routes and services)."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI

from handler.api.errors import install_error_handlers
from handler.api.lazy_routes import LazyRoutes, RouteModule, include_all
from handler.api.middleware import GatewayPathMiddleware, RequestContextMiddleware

if TYPE_CHECKING:  # types only: the services' modules are the routes' to import
    from handler.api.services import AdminServices, GeneratingServices, MemberServices

Routes = RouteModule | tuple[APIRouter, str]  # a module, or a router and its prefix (tests)


class ImagegateApp(FastAPI):
    def openapi(self) -> dict[str, Any]:
        include_all(self)  # the document describes every route, included yet or not
        return super().openapi()


def build_app(
    routes: Sequence[Routes],
    services: "GeneratingServices | AdminServices | MemberServices",
    *,
    lazy: bool = False,
) -> FastAPI:
    """The app: its modules' routes included now, or each on its first request (``lazy``)."""
    app = ImagegateApp(
        title="imagegate",
        version="0.1.0",
        summary="OpenAI-compatible, pay-per-request image generation.",
        # A near miss ("/v1/models/") is OpenAI's 404, not a redirect to a guessed URL.
        redirect_slashes=False,
    )
    app.state.services = services  # what the routes' dependencies ask
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(GatewayPathMiddleware)  # added last: runs first
    install_error_handlers(app)
    # Each is included in the app directly: FastAPI matches an included router by asking each
    # of its routers in turn, twice (to choose, then to handle), so a router of routers
    # doubles the matching; the generation routes, whose every request is paid for, come first.
    for route in routes:
        if isinstance(route, tuple):
            app.include_router(route[0], prefix=route[1])
        elif lazy:
            app.router.routes.append(LazyRoutes(app, route))
        else:
            app.include_router(route.load(), prefix=route.prefix)
    return app
