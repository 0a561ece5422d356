"""Members' sign-up, confirmation and sign-in: the console calls these (its own API, no
other origin), and the members' function calls the user pool. Nothing here needs a token;
what a token then opens is ``routes/account.py``."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from handler.api.errors import ERROR_RESPONSES
from handler.api.json_body import JsonBodyRoute
from handler.api.member_deps import AccountMembersDep, MemberDep
from handler.api.schemas_admin import Body
from handler.api.services import services_of
from handler.core.errors import PermissionDenied
from handler.core.records.operators import OperatorCredentials
from handler.core.records.sign_in import Tokens
from handler.ports.sign_in import SignIn

router = APIRouter(tags=["account"], route_class=JsonBodyRoute, responses=ERROR_RESPONSES)

Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^\s*[^@\s]+@[^@\s]+\s*$")]
Password = Annotated[str, Field(min_length=1, max_length=256)]


async def get_sign_in(request: Request) -> SignIn:
    return services_of(request).sign_in()


SignInDep = Annotated[SignIn, Depends(get_sign_in)]


class Credentials(Body):
    email: Email
    password: Password

    @property
    def login(self) -> str:
        return self.email.strip().lower()


class Confirmation(Body):
    email: Email
    code: Annotated[str, Field(min_length=1, max_length=16)]


class Resend(Body):
    email: Email


class NewPassword(Credentials):
    new_password: Password


class Refresh(Body):
    refresh_token: Annotated[str, Field(min_length=1)]


class Done(BaseModel):
    object: Literal["sign_in.step"] = "sign_in.step"
    next: Annotated[str, Field(description="What the person does next.")]


class SignedIn(BaseModel):
    object: Literal["sign_in.tokens"] = "sign_in.tokens"
    id_token: Annotated[str, Field(description="The bearer of /v1/me and /v1/account.")]
    access_token: str
    refresh_token: Annotated[str | None, Field(description="Null on a refresh.")]
    expires_in: Annotated[int, Field(description="Seconds the ID token lasts.")]

    @classmethod
    def of(cls, tokens: Tokens) -> "SignedIn":
        return cls(
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
        )


@router.post("/me/sign-up")
def sign_up(body: Credentials, pool: SignInDep, members: AccountMembersDep) -> Done:
    """A login for ``email``, to be confirmed with the code sent to it."""
    if members.sign_up == "invitation":
        raise PermissionDenied(
            "This deployment opens accounts by invitation only.", code="sign_up_closed"
        )
    pool.sign_up(body.login, body.password)
    return Done(next="confirm: POST /v1/me/confirm with the code sent to the email")


@router.post("/me/confirm")
def confirm(body: Confirmation, pool: SignInDep) -> Done:
    pool.confirm(body.email.strip().lower(), body.code.strip())
    return Done(next="sign in: POST /v1/me/sign-in")


@router.post("/me/confirm/resend")
def resend(body: Resend, pool: SignInDep) -> Done:
    pool.resend(body.email.strip().lower())
    return Done(next="confirm: POST /v1/me/confirm with the new code")


@router.post("/me/sign-in")
def sign_in(body: Credentials, pool: SignInDep) -> SignedIn:
    return SignedIn.of(pool.sign_in(body.login, body.password))


class OperatorKeys(BaseModel):
    object: Literal["operator.credentials"] = "operator.credentials"
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: Annotated[int, Field(description="Unix seconds.")]
    region: Annotated[str, Field(description="The signature's scope: the API's region.")]

    @classmethod
    def of(cls, given: OperatorCredentials) -> "OperatorKeys":
        return cls(
            access_key_id=given.access_key_id,
            secret_access_key=given.secret_access_key,
            session_token=given.session_token,
            expires_at=given.expires_at,
            region=given.region,
        )


@router.post("/me/operator-credentials")
def operator_credentials(request: Request, member: MemberDep) -> OperatorKeys:
    """An operator's temporary credentials for the admin API (SigV4, service execute-api),
    from the identity pool: the console signs its admin calls with them."""
    if not member.is_operator:
        raise PermissionDenied(
            "Only operators get the admin API's credentials.", code="not_an_operator"
        )
    source = services_of(request).operator_credentials()
    return OperatorKeys.of(source.for_token(request.state.id_token))


@router.post("/me/new-password")
def new_password(body: NewPassword, pool: SignInDep) -> SignedIn:
    """An invited login's first sign-in: the emailed temporary password, and one of its own."""
    return SignedIn.of(pool.new_password(body.login, body.password, body.new_password))


@router.post("/me/refresh")
def refresh(body: Refresh, pool: SignInDep) -> SignedIn:
    """New tokens for the refresh token sign-in gave (30 days)."""
    return SignedIn.of(pool.refresh(body.refresh_token))
