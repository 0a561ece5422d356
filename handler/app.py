"""The FastAPI application, the same under Lambda (through Mangum) and under uvicorn."""

from fastapi import APIRouter, FastAPI

from handler.api.errors import install_error_handlers
from handler.api.middleware import GatewayPathMiddleware, RequestContextMiddleware
from handler.api.routes import ADMIN_ROUTERS, ROUTERS


def create_app(routers: list[tuple[APIRouter, str]] = ROUTERS) -> FastAPI:
    """The public app by default; ``create_admin_app`` serves the operators' routes."""
    app = FastAPI(
        title="imagegate",
        version="0.1.0",
        summary="OpenAI-compatible, pay-per-request image generation.",
        # A near miss ("/v1/models/") is OpenAI's 404, not a redirect to a guessed URL.
        redirect_slashes=False,
    )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(GatewayPathMiddleware)  # added last: runs first
    install_error_handlers(app)
    for router, prefix in routers:
        app.include_router(router, prefix=prefix)
    return app


def create_admin_app() -> FastAPI:
    """``/admin/v1``: the routes API Gateway lets through only when IAM-signed, served by a
    function whose role may make keys and move credit, which the public one may not."""
    return create_app(ADMIN_ROUTERS)
