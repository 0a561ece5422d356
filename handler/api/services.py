"""What the routes are served by, as the composition root hands it to the app
(``handler/app.py`` puts it on ``app.state.services``): the HTTP layer names the services it
needs, never where they are built.

Each is asked for when a request needs it, not when the app is made: a deployment without
cards answers its card routes with the 404 ``card_top_ups()`` raises then. Each app is given
the services its routes ask, no others: a function imports only what its own app serves."""

from __future__ import annotations  # the services' types are the routes' to import

from typing import TYPE_CHECKING, Protocol

from fastapi import Request

if TYPE_CHECKING:
    from handler.accounts.keys import AccountKeys
    from handler.accounts.membership import AccountMembers
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


class GeneratingServices(Protocol):
    """What the generating routes ask: the public app's and the streaming function's."""

    def key_store(self) -> KeyStore: ...

    def idempotency(self) -> Idempotency: ...

    def generation_service(self) -> GenerationService: ...

    def async_jobs(self) -> AsyncJobs: ...

    def work_reader(self) -> WorkReader: ...


class PublicServices(GeneratingServices, Protocol):
    """What the public app's routes ask (``handler/app.py``)."""

    def offering(self) -> Offering: ...

    def charge_store(self) -> ChargeStore: ...

    def entries(self) -> Entries: ...

    def batches(self) -> Batches: ...

    def image_store(self) -> ImageStore: ...

    def webhook_master_secret(self) -> str:
        """Secrets Manager's answer, the first time: blocking."""
        ...

    def card_top_ups(self) -> CardTopUps:
        """Raises ``NotFound`` where the deployment takes no cards."""
        ...

    def card_terms(self) -> CardTerms | None: ...


class AdminServices(Protocol):
    """What the admin app's routes ask (``handler/admin_app.py``)."""

    def charge_store(self) -> ChargeStore: ...

    def entries(self) -> Entries: ...

    def idempotency(self) -> Idempotency: ...

    def key_admin(self) -> KeyAdmin: ...

    def accounts(self) -> Accounts: ...

    def account_moderation(self) -> AccountModeration: ...

    def account_members(self) -> AccountMembers: ...


class MemberServices(Protocol):
    """What the members' app's routes ask (``handler/member_app.py``)."""

    def key_store(self) -> KeyStore: ...

    def entries(self) -> Entries: ...

    def card_top_ups(self) -> CardTopUps:
        """Raises ``NotFound`` where the deployment takes no cards."""
        ...

    def card_terms(self) -> CardTerms | None: ...

    def account_members(self) -> AccountMembers: ...

    def account_keys(self) -> AccountKeys: ...

    def member_tokens(self) -> MemberTokenVerifier:
        """Raises ``NotFound`` where the deployment has no members' sign-in."""
        ...

    def operator_credentials(self) -> OperatorCredentialSource:
        """Raises ``NotFound`` where the deployment has no identity pool."""
        ...

    def sign_in(self) -> SignIn:
        """Raises ``NotFound`` where the deployment has no members' sign-in."""
        ...


class Services(PublicServices, AdminServices, MemberServices, Protocol):
    """Every service a route may ask: each app's are the part its own routes ask, built by
    the function that serves it (and nothing of the others' is imported there)."""


def services_of(request: Request) -> Services:
    """The services of the app serving ``request``."""
    services: Services = request.app.state.services
    return services
