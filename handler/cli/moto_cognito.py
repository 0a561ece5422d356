"""The local stack's Cognito is moto's cognito-idp and cognito-identity, changed to do what a
person signing up, and an operator signing in to the console, meet (``install()``):

- ``SignUp`` makes a confirmation code, valid 24 hours as Cognito's are, and shows it on the
  dev terminal (stderr), where AWS would email it; ``ResendConfirmationCode`` makes a new one.
- ``ConfirmSignUp`` takes only that code, and only in time (moto confirms any code).
- A pool that only admins may add users to refuses ``SignUp`` as Cognito does.
- ``AdminCreateUser`` (an invitation) makes a temporary password, when none is given and the
  message is not suppressed, and shows it on the dev terminal, where Cognito would email it.
- The identity pool's ``GetCredentialsForIdentity`` gives an operator's login temporary
  credentials (moto gives everyone the same fixed ones), which the local gateway then takes
  as OperatorRole's, and refuses any other login, as the template's role mapping does.
"""

import gzip
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import moto.cognitoidp
from moto.cognitoidentity.responses import CognitoIdentityResponse
from moto.cognitoidp.exceptions import (
    CodeMismatchException,
    ExpiredCodeException,
    NotAuthorizedError,
    UserNotFoundError,
)
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult

from handler.cli.gateway.events import ACCOUNT_ID
from handler.cli.gateway.iam import SigningKeys, issue
from handler.core.records.members import OPERATORS_GROUP

CODE_SECONDS = 24 * 3600
MOTO_SIGN_UP = CognitoIdpResponse.sign_up
MOTO_CONFIRM = CognitoIdpResponse.confirm_sign_up


def _pool_and_user(response: CognitoIdpResponse, username: str) -> tuple[Any, Any]:
    client_id = response._get_param("ClientId")
    backend = response._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
    for pool in backend.user_pools.values():
        if client_id in pool.clients:
            return pool, pool._get_user(username)
    raise UserNotFoundError(username)


def _new_code(username: str, user: Any) -> None:
    user.confirmation_code = f"{secrets.randbelow(10**6):06d}"
    user.confirmation_expires = time.time() + CODE_SECONDS
    print(  # noqa: T201 - the dev terminal is where the code goes, as an email would
        f"Cognito (local): confirmation code for {username}: {user.confirmation_code}",
        file=sys.stderr,
        flush=True,
    )


def sign_up(self: CognitoIdpResponse) -> ActionResult:
    pool, _ = _pool_and_user(self, self._get_param("Username"))
    if pool.extended_config.get("AdminCreateUserConfig", {}).get("AllowAdminCreateUserOnly"):
        raise NotAuthorizedError("SignUp is not permitted for this user pool")
    answer = MOTO_SIGN_UP(self)
    username = self._get_param("Username")
    _, user = _pool_and_user(self, username)
    _new_code(username, user)
    return answer


def confirm_sign_up(self: CognitoIdpResponse) -> ActionResult:
    username = self._get_param("Username")
    _, user = _pool_and_user(self, username)
    if user is None:
        raise UserNotFoundError(username)
    code = getattr(user, "confirmation_code", None)
    if code is None or not secrets.compare_digest(code, str(self._get_param("ConfirmationCode"))):
        raise CodeMismatchException("Invalid verification code provided, please try again.")
    if time.time() > getattr(user, "confirmation_expires", 0):
        raise ExpiredCodeException("Invalid code provided, please request a code again.")
    user.confirmation_code = None
    return MOTO_CONFIRM(self)


def admin_create_user(self: CognitoIdpResponse) -> ActionResult:
    username = self._get_param("Username")
    temporary = self._get_param("TemporaryPassword")
    action = self._get_param("MessageAction")
    shown = temporary is None and action != "SUPPRESS"
    if shown:  # as Cognito's: every class of character its password policy may ask for
        temporary = f"Tmp-{secrets.token_urlsafe(9)}-9aZ"
    pool_id, attributes = self._get_param("UserPoolId"), self._get_param("UserAttributes", [])
    user = self.backend.admin_create_user(pool_id, username, action, temporary, attributes)
    if shown:
        print(  # noqa: T201 - the dev terminal is where the invitation goes, as an email would
            f"Cognito (local): invitation for {username}: temporary password {temporary}",
            file=sys.stderr,
            flush=True,
        )
    return ActionResult({"User": user.to_json(extended=True)})


def resend_confirmation_code(self: CognitoIdpResponse) -> ActionResult:
    username = self._get_param("Username")
    _, user = _pool_and_user(self, username)
    if user is None:
        raise UserNotFoundError(username)
    _new_code(username, user)
    email = {"DeliveryMedium": "EMAIL", "AttributeName": "email", "Destination": username}
    return ActionResult({"CodeDeliveryDetails": email})


# ---- cognito-identity: the console's operator credentials ----

ROLE_SECONDS = 3600  # OperatorRole's MaxSessionDuration


class CognitoNotAuthorized(JsonRESTError):
    """cognito-identity's refusal of a login (moto has none of its own)."""

    def __init__(self, message: str):
        super().__init__(error_type="NotAuthorizedException", message=message)


def _moto_keys() -> Any:
    """The keys moto's user pools sign their tokens with (its public JWKS)."""
    from joserfc.jwk import KeySet

    resources = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-public.json.gz"
    return KeySet.import_key_set(json.loads(gzip.decompress(resources.read_bytes())))


def get_credentials_for_identity(self: CognitoIdentityResponse) -> str:
    """Credentials for OperatorRole when the login is a member of the operators' group, as
    the template's role mapping gives them (none to anyone else); the local gateway takes
    their signatures until they expire, as the operator's."""
    from joserfc import jwt
    from joserfc.errors import JoseError

    logins: dict[str, str] = self._get_param("Logins") or {}
    if len(logins) != 1:
        raise CognitoNotAuthorized("Logins must name the members' user pool and its ID token.")
    [(provider, token)] = logins.items()
    try:
        claims = jwt.decode(token, _moto_keys(), algorithms=["RS256"]).claims
    except (JoseError, ValueError):
        raise CognitoNotAuthorized("Invalid login token.") from None
    if claims.get("iss") != f"https://{provider}" or claims.get("exp", 0) < time.time():
        raise CognitoNotAuthorized("Invalid login token: not this pool's, or expired.")
    if OPERATORS_GROUP not in claims.get("cognito:groups", []):
        raise CognitoNotAuthorized(
            "No role for this login: the pool's rules give one to operators only."
        )
    keys = SigningKeys(
        access_key="ASIA" + secrets.token_hex(8).upper(),
        secret_key=secrets.token_urlsafe(30),
        session_token=secrets.token_urlsafe(48),
        expires_at=time.time() + ROLE_SECONDS,
        arn=f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/OperatorRole/CognitoIdentityCredentials",
    )
    issue(keys)
    credentials = {
        "AccessKeyId": keys.access_key,
        "SecretKey": keys.secret_key,
        "SessionToken": keys.session_token,
        "Expiration": keys.expires_at,
    }
    return json.dumps({"IdentityId": self._get_param("IdentityId"), "Credentials": credentials})


def install() -> None:
    """Change moto's cognito-idp in this process (idempotent)."""
    CognitoIdpResponse.sign_up = sign_up  # type: ignore[method-assign]
    CognitoIdpResponse.confirm_sign_up = confirm_sign_up  # type: ignore[method-assign]
    CognitoIdpResponse.resend_confirmation_code = resend_confirmation_code  # type: ignore[attr-defined]
    CognitoIdpResponse.admin_create_user = admin_create_user  # type: ignore[method-assign]
    CognitoIdentityResponse.get_credentials_for_identity = get_credentials_for_identity  # type: ignore[method-assign]
