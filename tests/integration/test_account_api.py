"""The members' API in the deployed shape: HTTP → the local API Gateway → the members'
function, each request carrying the ID token the local stack's Cognito (moto's cognito-idp)
issued at sign-in, as the console sends it."""

import os
import re
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest

from handler import container
from handler.config import get_sign_in_settings
from tests.support import assert_error, signed

PASSWORD = "Correct-Horse-9-Battery"
PRICE = 4000  # imagegate-preview, 1024x1024 (infra/catalog.json)

SignIn = Callable[[str], dict[str, str]]


def _sign_up(mode: str, credit: int = 0) -> None:
    """The deployment's SignUp parameter, as the members' function reads it."""
    os.environ["IMAGEGATE_SIGN_UP"] = mode
    # As the template's parameter: an amount of the currency ("0.04")
    os.environ["IMAGEGATE_SIGN_UP_STARTING_CREDIT"] = f"{credit // 10**6}.{credit % 10**6:06d}"
    container.reset()


@pytest.fixture
def sign_in(origin: str) -> SignIn:
    """A person with a confirmed login in the members' pool: their Authorization header."""
    idp = boto3.client("cognito-idp")
    settings = get_sign_in_settings()

    def signed_in(email: str) -> dict[str, str]:
        idp.admin_create_user(
            UserPoolId=settings.user_pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=settings.user_pool_id, Username=email, Password=PASSWORD, Permanent=True
        )
        answer = idp.initiate_auth(
            ClientId=settings.user_pool_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )
        return {"Authorization": f"Bearer {answer['AuthenticationResult']['IdToken']}"}

    return signed_in


def _call(origin: str, method: str, path: str, auth: dict[str, str], body: Any = None) -> Any:
    return httpx.request(method, f"{origin}/v1{path}", headers=auth, json=body, timeout=30)


def test_an_open_sign_up_opens_an_account_that_makes_a_key_that_spends_its_credit(
    origin: str, sign_in: SignIn
) -> None:
    _sign_up("open", 10 * PRICE)
    ada = sign_in("ada@example.com")
    # Given a person signed in with no account
    me = _call(origin, "GET", "/me", ada).json()
    assert (me["email"], me["member"], me["account"], me["sign_up"]) == (
        "ada@example.com",
        None,
        None,
        "open",
    )
    # When they open one, they are its owner, with the starting credit
    opened = _call(origin, "POST", "/me/account", ada, {"name": "Ada's studio"})
    assert opened.status_code == 200, opened.text
    account = opened.json()
    assert (account["balance"], account["currency"], account["status"]) == (
        10 * PRICE,
        "usd",
        "active",
    )
    assert _call(origin, "GET", "/me", ada).json()["member"]["role"] == "owner"
    again = _call(origin, "POST", "/me/account", ada, {"name": "another"})
    assert again.status_code == 409
    assert_error(again.json(), type_="conflict", param=None, code="already_a_member")
    # And a key they make (shown once) spends the account's credit
    made = _call(origin, "POST", "/account/keys", ada, {"name": "shop", "daily_spend_cap": PRICE})
    assert made.status_code == 200, made.text
    key, secret = made.json()["key"], made.json()["api_key"]
    assert key["id"].startswith(account["id"] + "-")
    bearer = {"Authorization": f"Bearer {secret}"}
    generated = _call(origin, "POST", "/images/generations", bearer, {"prompt": "a"})
    assert generated.status_code == 200, generated.text
    over = _call(origin, "POST", "/images/generations", bearer, {"prompt": "a"})
    assert over.json()["error"]["code"] == "spend_limit_reached"  # its own budget
    usage = _call(origin, "GET", "/account/usage", ada).json()
    assert [
        (row["key_id"], row["model"], row["images"], row["spend"]) for row in usage["data"]
    ] == [(key["id"], "imagegate-preview", 1, PRICE)]
    assert usage["currency"] == "usd"
    assert _call(origin, "GET", "/me", ada).json()["account"]["balance"] == 9 * PRICE
    # Revoked, the key stops working
    assert _call(origin, "DELETE", f"/account/keys/{key['id']}", ada).json()["status"] == "revoked"
    assert _call(origin, "POST", "/images/generations", bearer, {"prompt": "a"}).status_code == 401


def test_invitation_only_refuses_opening_and_an_invited_member_joins_with_their_role(
    origin: str, sign_in: SignIn
) -> None:
    _sign_up("open")
    owner = sign_in("owner@example.com")
    _call(origin, "POST", "/me/account", owner, {"name": "team"})
    _sign_up("invitation")
    dev = sign_in("dev@example.com")
    closed = _call(origin, "POST", "/me/account", dev, {"name": "mine"})
    assert closed.status_code == 403
    assert_error(closed.json(), type_="permission_error", param=None, code="sign_up_closed")
    # Given an owner's invitation to dev@ as a developer
    invited = _call(
        origin,
        "POST",
        "/account/invitations",
        owner,
        {"email": "Dev@Example.com", "role": "developer"},
    )
    assert invited.status_code == 200, invited.text
    twice = _call(
        origin, "POST", "/account/invitations", owner, {"email": "dev@example.com", "role": "owner"}
    )
    assert twice.json()["error"]["code"] == "invitation_pending"
    assert _call(origin, "GET", "/me", dev).json()["invitation"]["role"] == "developer"
    # When they accept it they are a developer: keys and usage, not members or billing
    assert _call(origin, "POST", "/me/invitation", dev).json()["role"] == "developer"
    assert _call(origin, "POST", "/account/keys", dev, {"name": "ci"}).status_code == 200
    assert _call(origin, "GET", "/account/usage", dev).status_code == 200
    for method, path, body in (
        ("POST", "/account/invitations", {"email": "x@example.com", "role": "owner"}),
        ("GET", "/account/billing/transactions", None),
    ):
        refused = _call(origin, method, path, dev, body)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "role_not_allowed"
    # And the invitation is spent
    assert _call(origin, "POST", "/me/invitation", dev).json()["error"]["code"] == "invitation_gone"


def test_the_last_owner_stays_and_no_one_reaches_another_accounts_keys(
    origin: str, sign_in: SignIn
) -> None:
    _sign_up("open")
    ada, bob = sign_in("ada@example.com"), sign_in("bob@example.com")
    for person in (ada, bob):
        _call(origin, "POST", "/me/account", person, {"name": "own"})
    ada_sub = _call(origin, "GET", "/me", ada).json()["member"]["id"]
    for method, body in (("PATCH", {"role": "developer"}), ("DELETE", None)):
        refused = _call(origin, method, f"/account/members/{ada_sub}", ada, body)
        assert refused.status_code == 409
        assert_error(refused.json(), type_="conflict", param=None, code="last_owner")
    assert _call(origin, "GET", "/me", ada).json()["member"]["role"] == "owner"  # unchanged
    bobs_key = _call(origin, "POST", "/account/keys", bob, {"name": "b"}).json()["key"]["id"]
    for method, path in (
        ("DELETE", f"/account/keys/{bobs_key}"),
        ("PATCH", f"/account/keys/{bobs_key}"),
    ):
        refused = _call(
            origin, method, path, ada, {"name": "mine now"} if method == "PATCH" else None
        )
        assert refused.status_code == 404
    # An invitation of a member of another account cannot be taken up
    _call(
        origin, "POST", "/account/invitations", ada, {"email": "bob@example.com", "role": "billing"}
    )
    taken = _call(origin, "POST", "/me/invitation", bob)
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "already_a_member"


def test_an_account_awaiting_approval_spends_nothing_until_an_operator_approves_it(
    origin: str, sign_in: SignIn
) -> None:
    _sign_up("approval", 5 * PRICE)
    ada = sign_in("ada@example.com")
    account = _call(origin, "POST", "/me/account", ada, {"name": "new"}).json()
    assert (account["status"], account["balance"]) == ("awaiting_approval", 0)
    refused = _call(origin, "POST", "/account/keys", ada, {"name": "k"})
    assert refused.status_code == 404
    # The operator sees it, approves it, then suspends it
    listed = signed("GET", f"{origin}/admin/v1/accounts").json()["data"]
    assert [a["status"] for a in listed if a["id"] == account["id"]] == ["awaiting_approval"]
    approved = signed("POST", f"{origin}/admin/v1/accounts/{account['id']}/reinstate")
    assert approved.json()["status"] == "active"
    secret = _call(origin, "POST", "/account/keys", ada, {"name": "k"}).json()["api_key"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert _call(origin, "GET", "/usage", bearer).status_code == 200
    signed("POST", f"{origin}/admin/v1/accounts/{account['id']}/suspend", {"reason": "fraud"})
    suspended = _call(origin, "GET", "/usage", bearer)
    assert suspended.status_code == 401
    assert suspended.json()["error"]["code"] == "account_suspended"
    shown = signed("GET", f"{origin}/admin/v1/accounts/{account['id']}").json()
    assert (shown["status"], shown["suspended_because"], len(shown["keys"])) == (
        "suspended",
        "fraud",
        1,
    )
    assert [m["email"] for m in shown["members"]] == ["ada@example.com"]


def test_the_members_api_wants_a_valid_sign_in(origin: str, sign_in: SignIn) -> None:
    missing = _call(origin, "GET", "/me", {})
    assert missing.status_code == 401
    assert_error(missing.json(), type_="authentication_error", param=None, code="sign_in_required")
    forged = _call(origin, "GET", "/me", {"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "invalid_token"
    no_account = _call(origin, "GET", "/account/keys", sign_in("eve@example.com"))
    assert no_account.status_code == 403
    assert no_account.json()["error"]["code"] == "no_account"


def _code(capsys: pytest.CaptureFixture[str], email: str) -> str:
    """The confirmation code the local stack showed on its terminal for ``email``."""
    shown = capsys.readouterr().err
    codes: list[str] = re.findall(rf"confirmation code for {re.escape(email)}: (\d{{6}})", shown)
    return codes[-1]


@pytest.mark.parameters(SignUp="open", SignUpStartingCredit="0.04")
def test_sign_up_confirm_and_sign_in_through_the_api(
    origin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = {"email": "Grace@Example.com", "password": PASSWORD}
    signed_up = _call(origin, "POST", "/me/sign-up", {}, credentials)
    assert signed_up.status_code == 200, signed_up.text
    taken = _call(origin, "POST", "/me/sign-up", {}, credentials)
    assert_error(taken.json(), type_="conflict", param=None, code="email_taken")
    weak = _call(origin, "POST", "/me/sign-up", {}, {"email": "x@example.com", "password": "short"})
    assert weak.status_code == 400
    assert_error(weak.json(), type_="invalid_request_error", param="password", code="weak_password")
    # Not confirmed yet: no sign-in; a wrong code is refused
    early = _call(origin, "POST", "/me/sign-in", {}, credentials)
    assert early.json()["error"]["code"] == "email_not_confirmed"
    code = _code(capsys, "grace@example.com")
    wrong = _call(
        origin,
        "POST",
        "/me/confirm",
        {},
        {"email": "grace@example.com", "code": "000000" if code != "000000" else "111111"},
    )
    assert_error(wrong.json(), type_="invalid_request_error", param="code", code="invalid_code")
    # A new code replaces the first
    assert (
        _call(origin, "POST", "/me/confirm/resend", {}, {"email": "grace@example.com"}).status_code
        == 200
    )
    fresh = _code(capsys, "grace@example.com")
    confirmed = _call(
        origin, "POST", "/me/confirm", {}, {"email": "grace@example.com", "code": fresh}
    )
    assert confirmed.status_code == 200, confirmed.text
    bad = _call(
        origin, "POST", "/me/sign-in", {}, {**credentials, "password": "Not-The-Password-1"}
    )
    assert bad.status_code == 401
    assert_error(bad.json(), type_="authentication_error", param=None, code="wrong_credentials")
    tokens = _call(origin, "POST", "/me/sign-in", {}, credentials).json()
    member = {"Authorization": f"Bearer {tokens['id_token']}"}
    assert _call(origin, "GET", "/me", member).json()["email"] == "grace@example.com"
    account = _call(origin, "POST", "/me/account", member, {"name": "Grace"}).json()
    assert account["balance"] == 40_000  # the starting credit, 0.04
    refreshed = _call(origin, "POST", "/me/refresh", {}, {"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] is None


def test_invitation_only_takes_no_sign_up(origin: str) -> None:
    refused = _call(
        origin, "POST", "/me/sign-up", {}, {"email": "z@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 403
    assert_error(refused.json(), type_="permission_error", param=None, code="sign_up_closed")


def test_the_operators_report_says_what_came_in_and_went_out_per_day(origin: str) -> None:
    admin = f"{origin}/admin/v1"
    made = signed("POST", f"{admin}/keys", {"name": "shop", "balance": 10 * PRICE}).json()
    key_id, bearer = made["key"]["id"], {"Authorization": f"Bearer {made['api_key']}"}
    signed("POST", f"{admin}/keys/{key_id}/adjustments", {"amount": -PRICE, "reason": "fix"})
    for n in (1, 2):
        assert _call(
            origin, "POST", "/images/generations", bearer, {"prompt": "a", "n": n}
        ).is_success
    answer = signed("GET", f"{admin}/report")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["currency"] == "usd"
    totals = report["totals"]
    assert (totals["credited"], totals["adjusted"], totals["charged"], totals["requests"]) == (
        10 * PRICE,
        -PRICE,
        3 * PRICE,
        2,
    )
    assert [day["charged"] for day in report["days"]] == [3 * PRICE]
    assert report["top_accounts"] == [{"account_id": key_id, "charged": 3 * PRICE}]


def test_an_operator_signs_the_admin_api_with_the_identity_pools_credentials(
    origin: str, sign_in: SignIn
) -> None:
    """The console's operator: signed in to the members' pool, in the operators' group, gets
    OperatorRole's temporary credentials from the identity pool and signs admin calls with
    them (SigV4, their session token); no one else gets any."""
    from botocore.credentials import Credentials

    settings = get_sign_in_settings()
    operator = sign_in("op@example.com")
    idp = boto3.client("cognito-idp")
    idp.admin_add_user_to_group(
        UserPoolId=settings.user_pool_id, Username="op@example.com", GroupName="operators"
    )
    operator = sign_in_again(origin, "op@example.com")  # a token that names the group
    answer = _call(origin, "POST", "/me/operator-credentials", operator)
    assert answer.status_code == 200, answer.text
    given = answer.json()
    assert given["access_key_id"].startswith("ASIA")
    assert given["region"] == "us-east-1"
    keys = Credentials(given["access_key_id"], given["secret_access_key"], given["session_token"])
    listed = signed("GET", f"{origin}/admin/v1/accounts", credentials=keys)
    assert listed.status_code == 200, listed.text
    # Without their session token, the gateway refuses them
    bare = Credentials(given["access_key_id"], given["secret_access_key"])
    assert signed("GET", f"{origin}/admin/v1/accounts", credentials=bare).status_code == 403
    # A member who is no operator gets none
    member = sign_in("member@example.com")
    refused = _call(origin, "POST", "/me/operator-credentials", member)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_an_operator"


def sign_in_again(origin: str, email: str) -> dict[str, str]:
    tokens = _call(origin, "POST", "/me/sign-in", {}, {"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {tokens.json()['id_token']}"}


def _temporary_password(capsys: pytest.CaptureFixture[str], email: str) -> str:
    """The temporary password the local stack showed for an invitation (Cognito emails it)."""
    shown = capsys.readouterr().err
    found: list[str] = re.findall(
        rf"invitation for {re.escape(email)}: temporary password (\S+)", shown
    )
    return found[-1]


def test_invitation_only_begins_with_an_operator_opening_an_account_for_its_owner(
    origin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The operator opens an account and invites its owner, who gets a login by email
    opened = signed(
        "POST",
        f"{origin}/admin/v1/accounts",
        {"name": "Studio", "owner_email": "Owner@Example.com", "balance": 5 * PRICE},
    )
    assert opened.status_code == 200, opened.text
    account = opened.json()["account"]
    assert (account["balance"], opened.json()["invitation"]["role"]) == (5 * PRICE, "owner")
    temporary = _temporary_password(capsys, "owner@example.com")
    # Signing in with it asks for a password of their own first
    first = {"email": "owner@example.com", "password": temporary}
    asked = _call(origin, "POST", "/me/sign-in", {}, first)
    assert asked.status_code == 403
    assert asked.json()["error"]["code"] == "new_password_required"
    weak = _call(origin, "POST", "/me/new-password", {}, {**first, "new_password": "short"})
    assert weak.json()["error"]["code"] == "weak_password"
    tokens = _call(origin, "POST", "/me/new-password", {}, {**first, "new_password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    owner = {"Authorization": f"Bearer {tokens.json()['id_token']}"}
    # Then they take up the invitation and own the account, its credit theirs to spend
    assert _call(origin, "GET", "/me", owner).json()["invitation"]["account_id"] == account["id"]
    assert _call(origin, "POST", "/me/invitation", owner).json()["role"] == "owner"
    secret = _call(origin, "POST", "/account/keys", owner, {"name": "k"}).json()["api_key"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert _call(origin, "POST", "/images/generations", bearer, {"prompt": "a"}).is_success
    # A member is not invited again, and no second login is made
    again = {"email": "owner@example.com", "role": "billing"}
    twice = _call(origin, "POST", "/account/invitations", owner, again)
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "already_a_member"
    assert "temporary password" not in capsys.readouterr().err


@pytest.mark.parameters(SignUp="open")
def test_an_expired_code_is_refused_and_a_new_one_works(
    origin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto.cognitoidp.models import cognitoidp_backends

    email = "late@example.com"
    _call(origin, "POST", "/me/sign-up", {}, {"email": email, "password": PASSWORD})
    code = _code(capsys, email)
    # A day later: the code (24 hours, as Cognito's) has expired
    pool = get_sign_in_settings().user_pool_id
    assert pool is not None
    backend = next(
        regions["us-east-1"] for regions in cognitoidp_backends.values() if "us-east-1" in regions
    )
    [user] = [
        u for u in backend.user_pools[pool].users.values() if u.attribute_lookup["email"] == email
    ]
    user.confirmation_expires -= 24 * 3600 + 1  # type: ignore[attr-defined]  # moto_cognito's
    late = _call(origin, "POST", "/me/confirm", {}, {"email": email, "code": code})
    assert late.status_code == 400
    assert_error(late.json(), type_="invalid_request_error", param="code", code="expired_code")
    _call(origin, "POST", "/me/confirm/resend", {}, {"email": email})
    fresh = _call(origin, "POST", "/me/confirm", {}, {"email": email, "code": _code(capsys, email)})
    assert fresh.status_code == 200, fresh.text
