"""The FastAPI application, the same under Lambda (through Mangum) and under uvicorn."""

from fastapi import FastAPI

from handler.api.errors import install_error_handlers
from handler.api.middleware import RequestContextMiddleware
from handler.api.routes import api_router


def create_app() -> FastAPI:
    app = FastAPI(
        title="imagegate",
        version="0.1.0",
        summary="OpenAI-compatible, pay-per-request image generation.",
    )
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    app.include_router(api_router)
    return app
