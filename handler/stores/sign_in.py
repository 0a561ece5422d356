"""Members' sign-up, confirmation and sign-in through the user pool's public API (Cognito's
``SignUp``, ``ConfirmSignUp``, ``InitiateAuth``), called by the members' function so the console
talks to its own API only. Cognito's refusals become the API's errors, each saying what to
do; the pool's own wording of a weak password is kept, since it names the rule."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.errors import error_code
from handler.core.errors import (
    ApiError,
    AuthenticationFailed,
    Conflict,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
    StorageError,
)
from handler.core.records.sign_in import Tokens


def _refusal(code: str, message: str) -> ApiError | None:
    """The API's error for a Cognito error code, or None for one no member causes."""
    match code:
        case "UsernameExistsException" | "AliasExistsException":
            return Conflict(
                "An account with this email exists already: sign in.", code="email_taken"
            )
        case "InvalidPasswordException":
            return InvalidRequest(message, param="password", code="weak_password")
        case "InvalidParameterException":
            return InvalidRequest(message, param=None, code="invalid_sign_in")
        case "CodeMismatchException":
            return InvalidRequest(
                "That code is not the one sent.", param="code", code="invalid_code"
            )
        case "ExpiredCodeException":
            return InvalidRequest(
                "That code has expired: ask for a new one.", param="code", code="expired_code"
            )
        case "UserNotConfirmedException":
            return PermissionDenied(
                "Confirm your email first, with the code sent to it.", code="email_not_confirmed"
            )
        case "NotAuthorizedException" if "SignUp is not permitted" in message:
            return PermissionDenied(
                "This deployment opens accounts by invitation only.", code="sign_up_closed"
            )
        case "NotAuthorizedException" | "UserNotFoundException":
            # One answer for both: a caller cannot probe which emails have a login.
            return AuthenticationFailed("Wrong email or password.", code="wrong_credentials")
        case (
            "TooManyRequestsException" | "LimitExceededException" | "TooManyFailedAttemptsException"
        ):
            return RateLimited("Too many attempts: wait a minute and try again.", retry_after=60)
    return None


@contextmanager
def _refused() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        refusal = _refusal(error_code(exc), message)
        if refusal is None:
            raise StorageError("The members' sign-in could not be reached.") from exc
        raise refusal from None
    except BotoCoreError as exc:
        raise StorageError("The members' sign-in could not be reached.") from exc


class CognitoSignIn:
    def __init__(self, user_pool_id: str, client_id: str, client: Any):
        self._pool = user_pool_id
        self._client_id = client_id
        self._client = client

    def invite(self, email: str) -> bool:
        """A login for ``email``, its temporary password emailed by Cognito; False if it has
        one already (it sees the invitation when it signs in)."""
        try:
            self._client.admin_create_user(
                UserPoolId=self._pool,
                Username=email,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},  # the invitation reached it
                ],
                DesiredDeliveryMediums=["EMAIL"],
            )
        except ClientError as exc:
            if error_code(exc) == "UsernameExistsException":
                return False
            raise StorageError("The invitation's login could not be made.") from exc
        except BotoCoreError as exc:
            raise StorageError("The invitation's login could not be made.") from exc
        return True

    def new_password(self, email: str, temporary: str, password: str) -> Tokens:
        """The first sign-in of an invited login: its temporary password for one of its own."""
        with _refused():
            answer = self._client.initiate_auth(
                ClientId=self._client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": temporary},
            )
            if answer.get("ChallengeName") != "NEW_PASSWORD_REQUIRED":
                raise InvalidRequest(
                    "This login has its own password already: sign in with it.",
                    param=None,
                    code="no_new_password_needed",
                )
            answer = self._client.respond_to_auth_challenge(
                ClientId=self._client_id,
                ChallengeName="NEW_PASSWORD_REQUIRED",
                Session=answer["Session"],
                ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": password},
            )
        return _tokens(answer)

    def sign_up(self, email: str, password: str) -> None:
        with _refused():
            self._client.sign_up(
                ClientId=self._client_id,
                Username=email,
                Password=password,
                UserAttributes=[{"Name": "email", "Value": email}],
            )

    def confirm(self, email: str, code: str) -> None:
        with _refused():
            self._client.confirm_sign_up(
                ClientId=self._client_id, Username=email, ConfirmationCode=code
            )

    def resend(self, email: str) -> None:
        with _refused():
            self._client.resend_confirmation_code(ClientId=self._client_id, Username=email)

    def sign_in(self, email: str, password: str) -> Tokens:
        parameters = {"USERNAME": email, "PASSWORD": password}
        return self._authenticated("USER_PASSWORD_AUTH", parameters)

    def refresh(self, refresh_token: str) -> Tokens:
        return self._authenticated("REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": refresh_token})

    def _authenticated(self, flow: str, parameters: dict[str, str]) -> Tokens:
        with _refused():
            answer = self._client.initiate_auth(
                ClientId=self._client_id, AuthFlow=flow, AuthParameters=parameters
            )
        if answer.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
            raise PermissionDenied(
                "Choose your own password: this login came with an invitation's temporary one.",
                code="new_password_required",
            )
        return _tokens(answer)


def _tokens(answer: dict[str, Any]) -> Tokens:
    result = answer.get("AuthenticationResult")
    if result is None:  # another challenge (a second factor)
        step = answer.get("ChallengeName")
        raise PermissionDenied(
            f"Signing in needs a step the console does not take yet ({step}).",
            code="sign_in_challenge",
        )
    return Tokens(
        id_token=result["IdToken"],
        access_token=result["AccessToken"],
        refresh_token=result.get("RefreshToken"),
        expires_in=int(result.get("ExpiresIn", 3600)),
    )
