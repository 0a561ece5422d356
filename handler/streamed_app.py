"""The generating routes' app: what the streaming function serves (``StreamFunction``, uvicorn
behind the Lambda Web Adapter), and the part of the public app (``handler/app.py``) both serve.
Nothing here takes cards: Stripe's SDK is not the streaming function's to load."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI

from handler import container, generation_container, work_container
from handler.api.application import build_app
from handler.api.lazy_routes import RouteModule

if TYPE_CHECKING:  # types only: each service's module is imported when it is built
    from handler.generation.service import GenerationService
    from handler.ports.idempotency import Idempotency
    from handler.ports.keys import KeyStore
    from handler.work.async_jobs import AsyncJobs
    from handler.work.reader import WorkReader


class GeneratingContainerServices:
    """The generating routes' services, each built on first use by its container."""

    def key_store(self) -> KeyStore:
        return container.key_store()

    def idempotency(self) -> Idempotency:
        return container.idempotency()

    def generation_service(self) -> GenerationService:
        return generation_container.generation_service()

    def async_jobs(self) -> AsyncJobs:
        return work_container.async_jobs()

    def work_reader(self) -> WorkReader:
        return work_container.work_reader()


def _images() -> APIRouter:
    from handler.api.routes import images

    return images.router


def _edits() -> APIRouter:
    from handler.api.routes import edits

    return edits.router


def _health() -> APIRouter:
    from handler.api.routes import health

    return health.router


IMAGES = RouteModule(
    "/v1",
    (
        "/images/generations",
        "/images/quotes",
        "/images/jobs",
        "/images/jobs/{job_id}",
        "/images/jobs/{job_id}/cancel",
    ),
    _images,
)
EDITS = RouteModule("/v1", ("/images/edits",), _edits)
HEALTH = RouteModule("", ("/health",), _health)
# What the streaming function serves: the routes API Gateway streams, and the web adapter's
# readiness check.
STREAMED = (IMAGES, EDITS, HEALTH)


def create_streamed_app(*, lazy: bool = False) -> FastAPI:
    return build_app(STREAMED, GeneratingContainerServices(), lazy=lazy)
