"""The local stack's Cognito is moto's cognito-idp, changed to do what a person signing up
meets (``install()``):

- ``SignUp`` makes a confirmation code, valid 24 hours as Cognito's are, and shows it on the
  dev terminal (stderr), where AWS would email it; ``ResendConfirmationCode`` makes a new one.
- ``ConfirmSignUp`` takes only that code, and only in time (moto confirms any code).
- A pool that only admins may add users to refuses ``SignUp`` as Cognito does.
"""

import secrets
import sys
import time
from typing import Any

from moto.cognitoidp.exceptions import (
    CodeMismatchException,
    ExpiredCodeException,
    NotAuthorizedError,
    UserNotFoundError,
)
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import ActionResult

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


def resend_confirmation_code(self: CognitoIdpResponse) -> ActionResult:
    username = self._get_param("Username")
    _, user = _pool_and_user(self, username)
    if user is None:
        raise UserNotFoundError(username)
    _new_code(username, user)
    email = {"DeliveryMedium": "EMAIL", "AttributeName": "email", "Destination": username}
    return ActionResult({"CodeDeliveryDetails": email})


def install() -> None:
    """Change moto's cognito-idp in this process (idempotent)."""
    CognitoIdpResponse.sign_up = sign_up  # type: ignore[method-assign]
    CognitoIdpResponse.confirm_sign_up = confirm_sign_up  # type: ignore[method-assign]
    CognitoIdpResponse.resend_confirmation_code = resend_confirmation_code  # type: ignore[attr-defined]
