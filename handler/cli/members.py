"""The members' Cognito pools on the local stack, played by moto's cognito-idp and
cognito-identity: the user pool, the console's client, the operators' group and the identity
pool as ``template.yaml`` declares them, and an operator to sign in as.

moto sends no email: a member signing up locally is confirmed by an operator's call
(``AdminConfirmSignUp``), where AWS would mail a code.
"""

import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from handler.cli.template import Template, local_name

OPERATOR_EMAIL = "operator@example.com"
# The user pool's properties that CreateUserPool takes under the same name.
_POOL_PROPERTIES = (
    "Policies",
    "Schema",
    "UsernameAttributes",
    "UsernameConfiguration",
    "AutoVerifiedAttributes",
    "VerificationMessageTemplate",
    "MfaConfiguration",
    "AccountRecoverySetting",
    "UserPoolTags",
)
_CLIENT_PROPERTIES = (
    "GenerateSecret",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "AuthSessionValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
    "ReadAttributes",
    "WriteAttributes",
)


@dataclass(frozen=True)
class LocalPools:
    user_pool_id: str
    client_id: str
    identity_pool_id: str
    jwks_url: str  # where moto serves the pool's keys

    @property
    def names(self) -> dict[str, str]:
        """What !Ref gives for each, keyed by logical id."""
        return {
            "UserPool": self.user_pool_id,
            "ConsoleClient": self.client_id,
            "ConsoleIdentityPool": self.identity_pool_id,
        }


def _one(template: Template, kind: str) -> dict[str, Any]:
    [properties] = template.resources(kind).values()
    return properties


def create_pools(template: Template, prefix: str, endpoint: str) -> LocalPools:
    """The template's user pool, its client and groups, and its identity pool, on moto."""
    idp, identity = boto3.client("cognito-idp"), boto3.client("cognito-identity")
    [logical_id] = template.resources("AWS::Cognito::UserPool")
    pool = _one(template, "AWS::Cognito::UserPool")
    arguments = {key: pool[key] for key in _POOL_PROPERTIES if key in pool}
    tags = {key: template.resolve(value, {}) for key, value in pool.get("UserPoolTags", {}).items()}
    created = idp.create_user_pool(
        PoolName=local_name(prefix, logical_id),
        **(arguments | {"UserPoolTags": tags}),
        AdminCreateUserConfig={
            "AllowAdminCreateUserOnly": _invitation_only(template, pool["AdminCreateUserConfig"]),
            "InviteMessageTemplate": pool["AdminCreateUserConfig"]["InviteMessageTemplate"],
        },
    )
    pool_id = created["UserPool"]["Id"]
    console = _one(template, "AWS::Cognito::UserPoolClient")
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=console["ClientName"],
        **{key: console[key] for key in _CLIENT_PROPERTIES if key in console},
    )["UserPoolClient"]["ClientId"]
    for group in template.resources("AWS::Cognito::UserPoolGroup").values():
        # Its role (OperatorRole) is IAM's, not played here: the group stands without it.
        idp.create_group(
            UserPoolId=pool_id,
            GroupName=group["GroupName"],
            Description=group.get("Description", ""),
            Precedence=group.get("Precedence", 0),
        )
    identity_pool = _one(template, "AWS::Cognito::IdentityPool")
    identity_pool_id = identity.create_identity_pool(
        IdentityPoolName=local_name(prefix, "ConsoleIdentityPool"),
        AllowUnauthenticatedIdentities=identity_pool["AllowUnauthenticatedIdentities"],
        AllowClassicFlow=identity_pool["AllowClassicFlow"],
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.{idp.meta.region_name}.amazonaws.com/{pool_id}",
                "ClientId": client_id,
                "ServerSideTokenCheck": True,
            }
        ],
    )["IdentityPoolId"]
    jwks_url = f"{endpoint}/{pool_id}/.well-known/jwks.json"
    return LocalPools(pool_id, client_id, identity_pool_id, jwks_url)


def _invitation_only(template: Template, config: dict[str, Any]) -> bool:
    """The pool's AllowAdminCreateUserOnly for the parameters' defaults (an !If of a
    condition that compares a parameter with a value)."""
    value = config["AllowAdminCreateUserOnly"]
    if isinstance(value, bool):
        return value
    condition, when_true, when_false = value["Fn::If"]
    left, right = template.body["Conditions"][condition]["Fn::Equals"]
    return bool(
        when_true if template.resolve(left, {}) == template.resolve(right, {}) else when_false
    )


def ensure_operator(user_pool_id: str, state_dir: Path) -> tuple[str, str]:
    """An operator in the fresh pool, with the saved password or a new one (saved, 0600):
    the login ``imagegate dev`` shows."""
    from handler.cli.local import write_private

    idp = boto3.client("cognito-idp")
    path = state_dir / "operator-password"
    password = path.read_text().strip() if path.exists() else ""
    if not password:
        password = _password()
        write_private(path, password + "\n")
    idp.admin_create_user(
        UserPoolId=user_pool_id,
        Username=OPERATOR_EMAIL,
        UserAttributes=[
            {"Name": "email", "Value": OPERATOR_EMAIL},
            {"Name": "email_verified", "Value": "true"},
        ],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=user_pool_id, Username=OPERATOR_EMAIL, Password=password, Permanent=True
    )
    idp.admin_add_user_to_group(
        UserPoolId=user_pool_id, Username=OPERATOR_EMAIL, GroupName="operators"
    )
    return OPERATOR_EMAIL, password


def _password() -> str:
    """20 random characters, with each kind the pool's policy requires."""
    kinds = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#%+-=?@^_")
    chosen = [secrets.choice(kind) for kind in kinds]
    chosen += [secrets.choice("".join(kinds)) for _ in range(16)]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)
