"""Members sign in through the stack's user pool; operators get, from its identity pool, a role
that may call the admin API and nothing else, which only that pool's signed-in members can
assume; who may sign up is the operator's choice, invitation only unless they say otherwise."""

from typing import Any

import pytest

from handler.cli.template import Template
from tests.policies import ACCOUNT, REGION, Request, allows, grants
from tests.support import ROOT

TEMPLATE = Template.load(ROOT / "template.yaml")
RESOURCES = TEMPLATE.body["Resources"]
API_ID, STAGE = "a1b2c3d4e5", "v1stage"
NAMES = {"Api": API_ID, "StageName": STAGE}
IDENTITY_POOL = f"{REGION}:11111111-2222-3333-4444-555555555555"
ADMIN_POLICY = RESOURCES["AdminApiPolicy"]["Properties"]["PolicyDocument"]


def _route(method: str, path: str, api: str = API_ID, stage: str = STAGE) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{stage}/{method}{path}"


def test_the_operators_role_holds_the_admin_api_policy_only() -> None:
    # Given the role the identity pool gives operators
    role = RESOURCES["OperatorRole"]["Properties"]
    # Then its one permission is the admin API's policy: no inline policy, no other attached
    assert role["ManagedPolicyArns"] == [{"Ref": "AdminApiPolicy"}]
    assert "Policies" not in role
    assert "PermissionsBoundary" not in role


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/admin/v1/keys"), ("POST", "/admin/v1/keys"), ("DELETE", "/admin/v1/keys/k1")],
)
def test_operators_may_invoke_the_admin_routes(method: str, path: str) -> None:
    assert grants(ADMIN_POLICY, "execute-api:Invoke", _route(method, path), NAMES)


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("execute-api:Invoke", _route("POST", "/v1/images/generations")),
        ("execute-api:Invoke", _route("GET", "/v1/usage")),
        ("execute-api:Invoke", _route("GET", "/health")),
        ("execute-api:Invoke", _route("GET", "/admin/v1/keys", api="otherapi99")),
        ("execute-api:Invoke", _route("GET", "/admin/v1/keys", stage="otherstage")),
        ("execute-api:ManageConnections", _route("GET", "/admin/v1/keys")),
        ("dynamodb:Scan", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/keys"),
        ("cognito-idp:AdminAddUserToGroup", f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/p"),
    ],
)
def test_operators_may_do_nothing_else(action: str, resource: str) -> None:
    assert not grants(ADMIN_POLICY, action, resource, NAMES)


def _assume(
    context: dict[str, str | list[str]], principal: str = "cognito-identity.amazonaws.com"
) -> bool:
    trust: dict[str, Any] = RESOURCES["OperatorRole"]["Properties"]["AssumeRolePolicyDocument"]
    request = Request(principal, "sts:AssumeRoleWithWebIdentity", context)
    return allows(trust, request, {"ConsoleIdentityPool": IDENTITY_POOL})


AUTHENTICATED = ["authenticated", f"cognito-identity.amazonaws.com:{IDENTITY_POOL}:provider"]


def test_only_the_stacks_identity_pool_signed_in_may_assume_the_role() -> None:
    aud, amr = "cognito-identity.amazonaws.com:aud", "cognito-identity.amazonaws.com:amr"
    assert _assume({aud: IDENTITY_POOL, amr: AUTHENTICATED})
    # Another identity pool, a guest identity, no claims, another federation: refused
    other = f"{REGION}:99999999-2222-3333-4444-555555555555"
    assert not _assume({aud: other, amr: AUTHENTICATED})
    assert not _assume({aud: IDENTITY_POOL, amr: ["unauthenticated"]})
    assert not _assume({aud: IDENTITY_POOL})
    assert not _assume({amr: AUTHENTICATED})
    assert not _assume({aud: IDENTITY_POOL, amr: AUTHENTICATED}, principal="accounts.google.com")
    # And no other action of STS
    trust = RESOURCES["OperatorRole"]["Properties"]["AssumeRolePolicyDocument"]
    request = Request("cognito-identity.amazonaws.com", "sts:AssumeRole", {aud: IDENTITY_POOL})
    assert not allows(trust, request, {"ConsoleIdentityPool": IDENTITY_POOL})


def test_the_identity_pool_gives_the_role_to_operators_and_nothing_to_anyone_else() -> None:
    pool = RESOURCES["ConsoleIdentityPool"]["Properties"]
    assert pool["AllowUnauthenticatedIdentities"] is False
    assert pool["AllowClassicFlow"] is False
    [provider] = pool["CognitoIdentityProviders"]
    assert provider["ClientId"] == {"Ref": "ConsoleClient"}
    attachment = RESOURCES["ConsoleIdentityPoolRoles"]["Properties"]
    assert "Roles" not in attachment  # no default authenticated role
    [mapping] = attachment["RoleMappings"].values()
    assert mapping["AmbiguousRoleResolution"] == "Deny"
    [rule] = mapping["RulesConfiguration"]["Rules"]
    assert (rule["Claim"], rule["MatchType"], rule["Value"]) == (
        "cognito:groups",
        "Contains",
        RESOURCES["OperatorsGroup"]["Properties"]["GroupName"],
    )
    assert rule["RoleARN"] == {"Fn::GetAtt": ["OperatorRole", "Arn"]}


def test_members_sign_in_by_email_with_a_strong_password_and_a_public_client() -> None:
    pool = RESOURCES["UserPool"]["Properties"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["DeletionProtection"] == "ACTIVE"
    password = pool["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12
    assert all(
        password[f"Require{kind}"] for kind in ("Lowercase", "Uppercase", "Numbers", "Symbols")
    )
    client = RESOURCES["ConsoleClient"]["Properties"]
    assert client["GenerateSecret"] is False
    assert {"ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH"} <= set(client["ExplicitAuthFlows"])
    assert set(client["TokenValidityUnits"]) == {"AccessToken", "IdToken", "RefreshToken"}


def test_sign_up_is_by_invitation_unless_the_operator_opens_it() -> None:
    parameters = TEMPLATE.body["Parameters"]
    assert parameters["SignUp"]["Default"] == "invitation"
    assert set(parameters["SignUp"]["AllowedValues"]) == {"invitation", "approval", "open"}
    assert parameters["SignUpStartingCredit"]["Default"] == "0.00"
    assert TEMPLATE.body["Conditions"]["InvitationOnly"] == {
        "Fn::Equals": [{"Ref": "SignUp"}, "invitation"]
    }
    admin_only = RESOURCES["UserPool"]["Properties"]["AdminCreateUserConfig"]
    assert admin_only["AllowAdminCreateUserOnly"] == {"Fn::If": ["InvitationOnly", True, False]}
    # Every function's (Globals): the local runtime runs them all with one environment
    environment = TEMPLATE.body["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["IMAGEGATE_SIGN_UP"] == {"Ref": "SignUp"}
    assert environment["IMAGEGATE_SIGN_UP_STARTING_CREDIT"] == {"Ref": "SignUpStartingCredit"}
    assert environment["IMAGEGATE_USER_POOL_ID"] == {"Ref": "UserPool"}
    assert environment["IMAGEGATE_USER_POOL_CLIENT_ID"] == {"Ref": "ConsoleClient"}
    outputs = TEMPLATE.body["Outputs"]
    assert {"UserPoolId", "ConsoleClientId", "ConsoleIdentityPoolId"} <= set(outputs)
