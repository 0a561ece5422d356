"""The local stack plays the members' Cognito pool as the template declares it (moto's
cognito-idp), serves its keys where the API reads them, and the tokens it issues pass the
API's verification; a token of another client of the pool does not."""

from pathlib import Path
from typing import Any

import boto3
import pytest

from handler.cli.members import OPERATOR_EMAIL, ensure_operator
from handler.config import get_sign_in_settings
from handler.core.errors import AuthenticationFailed
from handler.stores.member_tokens import MemberTokens, PublishedKeys, pool_issuer
from tests.integration.conftest import Local

PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture
def idp(local: Local) -> Any:
    return boto3.client("cognito-idp")


def _tokens(idp: Any, client_id: str, email: str, password: str) -> dict[str, str]:
    answer = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    result: dict[str, str] = answer["AuthenticationResult"]
    return result


def _verifier(client_id: str | None = None) -> MemberTokens:
    settings = get_sign_in_settings()
    assert settings.user_pool_id
    assert settings.user_pool_client_id
    assert settings.user_pool_jwks_url
    keys = PublishedKeys(settings.user_pool_jwks_url)
    return MemberTokens(settings.user_pool_id, client_id or settings.user_pool_client_id, keys)


def test_the_pool_client_and_group_are_the_templates(idp: Any) -> None:
    # Given the local stack, its API function's settings name the pool it made
    settings = get_sign_in_settings()
    assert settings.user_pool_id
    assert settings.user_pool_client_id
    assert settings.sign_up == "invitation"
    assert settings.sign_up_starting_credit == 0
    pool = idp.describe_user_pool(UserPoolId=settings.user_pool_id)["UserPool"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True  # invitation
    client = idp.describe_user_pool_client(
        UserPoolId=settings.user_pool_id, ClientId=settings.user_pool_client_id
    )["UserPoolClient"]
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]
    assert "ClientSecret" not in client
    groups = idp.list_groups(UserPoolId=settings.user_pool_id)["Groups"]
    assert [group["GroupName"] for group in groups] == ["operators"]
    assert settings.user_pool_jwks_url == (
        f"{boto3.client('cognito-idp').meta.endpoint_url}/{settings.user_pool_id}"
        "/.well-known/jwks.json"
    )


@pytest.mark.parameters(SignUp="open")
def test_a_member_signed_up_and_confirmed_is_verified_from_the_token_cognito_issued(
    idp: Any,
) -> None:
    settings = get_sign_in_settings()
    # Given a member who signed up (the pool takes sign-ups), was confirmed by an operator,
    # and signed in
    email = "ada@example.com"
    signed_up = idp.sign_up(
        ClientId=settings.user_pool_client_id,
        Username=email,
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    idp.admin_confirm_sign_up(UserPoolId=settings.user_pool_id, Username=email)
    tokens = _tokens(idp, str(settings.user_pool_client_id), email, PASSWORD)
    # When the API verifies the tokens against the pool's keys, fetched from moto
    verifier = _verifier()
    member = verifier.verify(tokens["IdToken"])
    by_access = verifier.verify(tokens["AccessToken"], "access")
    # Then they name the member, who is no operator
    assert member.sub == signed_up["UserSub"] == by_access.sub
    assert member.email == email
    assert not member.is_operator
    assert verifier.issuer == pool_issuer(str(settings.user_pool_id))
    # And an ID token is no access token, nor the reverse
    with pytest.raises(AuthenticationFailed):
        verifier.verify(tokens["AccessToken"], "id")
    with pytest.raises(AuthenticationFailed):
        verifier.verify(tokens["IdToken"], "access")


def test_a_token_of_another_client_of_the_pool_is_refused(idp: Any, tmp_path: Path) -> None:
    settings = get_sign_in_settings()
    other = idp.create_user_pool_client(
        UserPoolId=settings.user_pool_id,
        ClientName="another",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    email, password = ensure_operator(str(settings.user_pool_id), tmp_path)
    tokens = _tokens(idp, other, email, password)
    with pytest.raises(AuthenticationFailed) as refused:
        _verifier().verify(tokens["IdToken"])
    assert refused.value.code == "invalid_token"
    assert _verifier(client_id=other).verify(tokens["IdToken"]).email == email


def test_the_operator_signs_in_as_an_operator_with_the_password_kept(
    idp: Any, tmp_path: Path
) -> None:
    settings = get_sign_in_settings()
    email, password = ensure_operator(str(settings.user_pool_id), tmp_path)
    assert email == OPERATOR_EMAIL
    assert (tmp_path / "operator-password").read_text().strip() == password
    assert (tmp_path / "operator-password").stat().st_mode & 0o777 == 0o600
    tokens = _tokens(idp, str(settings.user_pool_client_id), email, password)
    member = _verifier().verify(tokens["IdToken"])
    assert member.is_operator
    assert member.email == OPERATOR_EMAIL
    # A fresh stack (the pool is in memory) gives the same login again
    idp.admin_delete_user(UserPoolId=settings.user_pool_id, Username=email)
    assert ensure_operator(str(settings.user_pool_id), tmp_path) == (email, password)
