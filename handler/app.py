"""The FastAPI application, the same under Lambda (through Mangum) and under uvicorn, served
by the container's objects (``ContainerServices``)."""

from fastapi import APIRouter, FastAPI

from handler import billing_container, container, moderation_container
from handler.accounts.keys import AccountKeys
from handler.accounts.membership import AccountMembers
from handler.api.errors import install_error_handlers
from handler.api.middleware import GatewayPathMiddleware, RequestContextMiddleware
from handler.api.routes import ADMIN_ROUTERS, MEMBER_ROUTERS, ROUTERS
from handler.api.services import Services
from handler.generation.offering import Offering
from handler.generation.service import GenerationService
from handler.keys.admin import KeyAdmin
from handler.money.cards import CardTerms, CardTopUps
from handler.ports.accounts import Accounts
from handler.ports.charges import ChargeStore
from handler.ports.idempotency import Idempotency
from handler.ports.images import ImageStore
from handler.ports.keys import KeyStore
from handler.ports.ledger import Entries
from handler.ports.member_tokens import MemberTokenVerifier
from handler.ports.moderation import AccountModeration
from handler.ports.operator_credentials import OperatorCredentialSource
from handler.ports.sign_in import SignIn
from handler.work.async_jobs import AsyncJobs
from handler.work.batches import Batches
from handler.work.reader import WorkReader


class ContainerServices:
    """The routes' ``Services``: each call asks the container's factory by name, so each is
    built on first use (not with the app), once, and again after ``container.reset()``."""

    def offering(self) -> Offering:
        return container.offering()

    def key_store(self) -> KeyStore:
        return container.key_store()

    def charge_store(self) -> ChargeStore:
        return container.charge_store()

    def entries(self) -> Entries:
        return container.entries()

    def idempotency(self) -> Idempotency:
        return container.idempotency()

    def generation_service(self) -> GenerationService:
        return container.generation_service()

    def async_jobs(self) -> AsyncJobs:
        return container.async_jobs()

    def batches(self) -> Batches:
        return container.batches()

    def work_reader(self) -> WorkReader:
        return container.work_reader()

    def image_store(self) -> ImageStore:
        return container.image_store()

    def webhook_master_secret(self) -> str:
        return container.webhook_master_secret()

    def card_top_ups(self) -> CardTopUps:
        return billing_container.card_top_ups()

    def card_terms(self) -> CardTerms | None:
        return billing_container.card_terms()

    def key_admin(self) -> KeyAdmin:
        return billing_container.key_admin()

    def accounts(self) -> Accounts:
        return billing_container.accounts()

    def account_moderation(self) -> AccountModeration:
        return moderation_container.account_moderation()

    def account_members(self) -> AccountMembers:
        return billing_container.account_members()

    def account_keys(self) -> AccountKeys:
        return billing_container.account_keys()

    def member_tokens(self) -> MemberTokenVerifier:
        return billing_container.member_tokens()

    def operator_credentials(self) -> OperatorCredentialSource:
        return billing_container.operator_credentials()

    def sign_in(self) -> SignIn:
        return billing_container.sign_in_service()


def create_app(routers: list[tuple[APIRouter, str]] = ROUTERS) -> FastAPI:
    """The public app by default; ``create_admin_app`` serves the operators' routes."""
    app = FastAPI(
        title="imagegate",
        version="0.1.0",
        summary="OpenAI-compatible, pay-per-request image generation.",
        # A near miss ("/v1/models/") is OpenAI's 404, not a redirect to a guessed URL.
        redirect_slashes=False,
    )
    services: Services = ContainerServices()  # what the routes' dependencies ask
    app.state.services = services
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


def create_member_app() -> FastAPI:
    """``/v1/me`` and ``/v1/account``: the routes of people signed in to the console, served
    by a function whose role may make an account's keys, which the public one may not."""
    return create_app(MEMBER_ROUTERS)
