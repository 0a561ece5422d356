"""The public app, under Lambda through Mangum (``ApiFunction``), served by the containers'
objects (``ContainerServices``); its generating routes are also the streaming function's
(``streamed_app.py``). Its route modules are named here with the paths of their routes, so a
function that builds it ``lazy`` imports each on its first request (``api/lazy_routes.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI

from handler import billing_container, container, generation_container, work_container
from handler.api.application import Routes, build_app
from handler.api.lazy_routes import RouteModule
from handler.streamed_app import EDITS, HEALTH, IMAGES, GeneratingContainerServices

if TYPE_CHECKING:  # types only: each service's module is imported when it is built
    from handler.generation.offering import Offering
    from handler.money.cards import CardTerms, CardTopUps
    from handler.ports.charges import ChargeStore
    from handler.ports.images import ImageStore
    from handler.ports.ledger import Entries
    from handler.work.batches import Batches


class ContainerServices(GeneratingContainerServices):
    """The public routes' services: each call asks the container's factory by name, so each
    is built on first use (not with the app), once, and again after ``container.reset()``."""

    def offering(self) -> Offering:
        return generation_container.offering()

    def charge_store(self) -> ChargeStore:
        return container.charge_store()

    def entries(self) -> Entries:
        return container.entries()

    def batches(self) -> Batches:
        return work_container.batches()

    def image_store(self) -> ImageStore:
        return container.image_store()

    def webhook_master_secret(self) -> str:
        return container.webhook_master_secret()

    def card_top_ups(self) -> CardTopUps:
        return billing_container.card_top_ups()

    def card_terms(self) -> CardTerms | None:
        return billing_container.card_terms()


# Each module is imported by a loader of its own, in an import statement the import graph of
# what a function ships follows (tests/import_graph.py), when its first request comes.
def _variations() -> APIRouter:
    from handler.api.routes import variations

    return variations.router


def _models() -> APIRouter:
    from handler.api.routes import models

    return models.router


def _usage() -> APIRouter:
    from handler.api.routes import usage

    return usage.router


def _batches() -> APIRouter:
    from handler.api.routes import batches

    return batches.router


def _billing() -> APIRouter:
    from handler.api.routes import billing

    return billing.router


def _stripe_events() -> APIRouter:
    from handler.api.routes import stripe_events

    return stripe_events.router


def _console() -> APIRouter:
    from handler.api.routes import console

    return console.router


# In the order requests are matched against them: the generation routes first.
PUBLIC = (
    IMAGES,
    EDITS,
    RouteModule("/v1", ("/images/variations",), _variations),
    RouteModule("/v1", ("/models", "/models/{model_id:path}"), _models),
    RouteModule("/v1", ("/usage", "/usage/requests"), _usage),
    RouteModule(
        "/v1",
        (
            "/batches",
            "/batches/{batch_id}",
            "/batches/{batch_id}/cancel",
            "/batches/{batch_id}/output",
            "/webhooks/secret",
        ),
        _batches,
    ),
    RouteModule("/v1", ("/billing/transactions", "/billing", "/billing/checkout"), _billing),
    RouteModule("", ("/webhooks/stripe",), _stripe_events),
    HEALTH,
    RouteModule("", ("/console", "/console/", "/console/{name:path}"), _console),
)


def create_app(routes: Sequence[Routes] = PUBLIC, *, lazy: bool = False) -> FastAPI:
    """The public app (its route modules included now, or each on its first request)."""
    return build_app(routes, ContainerServices(), lazy=lazy)
