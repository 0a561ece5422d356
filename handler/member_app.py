"""``/v1/me`` and ``/v1/account``: the routes of people signed in to the console, served by a
function whose role may make an account's keys, which the public one may not
(``MemberApiFunction``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI

from handler import accounts_container, billing_container, container, members_container
from handler.api.application import build_app
from handler.api.lazy_routes import RouteModule

if TYPE_CHECKING:  # types only: each service's module is imported when it is built
    from handler.accounts.keys import AccountKeys
    from handler.accounts.membership import AccountMembers
    from handler.money.cards import CardTerms, CardTopUps
    from handler.ports.keys import KeyStore
    from handler.ports.ledger import Entries
    from handler.ports.member_tokens import MemberTokenVerifier
    from handler.ports.operator_credentials import OperatorCredentialSource
    from handler.ports.sign_in import SignIn


class MemberContainerServices:
    """The members' routes' services, each built on first use by its container."""

    def key_store(self) -> KeyStore:
        return container.key_store()

    def entries(self) -> Entries:
        return container.entries()

    def card_top_ups(self) -> CardTopUps:
        return billing_container.card_top_ups()

    def card_terms(self) -> CardTerms | None:
        return billing_container.card_terms()

    def account_members(self) -> AccountMembers:
        return accounts_container.account_members()

    def account_keys(self) -> AccountKeys:
        return accounts_container.account_keys()

    def member_tokens(self) -> MemberTokenVerifier:
        return members_container.member_tokens()

    def operator_credentials(self) -> OperatorCredentialSource:
        return members_container.operator_credentials()

    def sign_in(self) -> SignIn:
        return accounts_container.sign_in_service()


def _sign_in() -> APIRouter:
    from handler.api.routes import sign_in

    return sign_in.router


def _account() -> APIRouter:
    from handler.api.routes import account

    return account.router


MEMBER = (
    RouteModule(
        "/v1",
        (
            "/me/sign-up",
            "/me/confirm",
            "/me/confirm/resend",
            "/me/sign-in",
            "/me/operator-credentials",
            "/me/new-password",
            "/me/refresh",
        ),
        _sign_in,
    ),
    RouteModule(
        "/v1",
        (
            "/me",
            "/me/account",
            "/me/invitation",
            "/account/keys",
            "/account/keys/{key_id}",
            "/account/keys/{key_id}/rotate",
            "/account/usage",
            "/account/members",
            "/account/members/{sub}",
            "/account/invitations",
            "/account/invitations/{email}",
            "/account/billing/transactions",
            "/account/billing/checkout",
        ),
        _account,
    ),
)


def create_member_app(*, lazy: bool = False) -> FastAPI:
    return build_app(MEMBER, MemberContainerServices(), lazy=lazy)
