"""What the routes are served by, as the composition root hands it to the app
(``handler/app.py`` puts it on ``app.state.services``): the HTTP layer names the services it
needs, never where they are built.

Each is asked for when a request needs it, not when the app is made: a deployment without
cards answers its card routes with the 404 ``card_top_ups()`` raises then."""

from typing import Protocol

from fastapi import Request

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


class Services(Protocol):
    def offering(self) -> Offering: ...

    def key_store(self) -> KeyStore: ...

    def charge_store(self) -> ChargeStore: ...

    def entries(self) -> Entries: ...

    def idempotency(self) -> Idempotency: ...

    def generation_service(self) -> GenerationService: ...

    def async_jobs(self) -> AsyncJobs: ...

    def batches(self) -> Batches: ...

    def work_reader(self) -> WorkReader: ...

    def image_store(self) -> ImageStore: ...

    def webhook_master_secret(self) -> str:
        """Secrets Manager's answer, the first time: blocking."""
        ...

    def card_top_ups(self) -> CardTopUps:
        """Raises ``NotFound`` where the deployment takes no cards."""
        ...

    def card_terms(self) -> CardTerms | None: ...

    def key_admin(self) -> KeyAdmin: ...

    def accounts(self) -> Accounts: ...

    def account_moderation(self) -> AccountModeration: ...

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


def services_of(request: Request) -> Services:
    """The services of the app serving ``request``."""
    services: Services = request.app.state.services
    return services
