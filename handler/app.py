"""The FastAPI application, the same under Lambda (through Mangum) and under uvicorn."""

from fastapi import FastAPI

from handler.api.errors import install_error_handlers
from handler.api.middleware import GatewayPathMiddleware, RequestContextMiddleware
from handler.api.routes import ROUTERS


def create_app() -> FastAPI:
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
    for router, prefix in ROUTERS:
        app.include_router(router, prefix=prefix)
    return app
