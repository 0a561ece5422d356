"""An operator's console credentials: Cognito's identity pool exchanges the member's ID token
for temporary credentials of the role its rules give (operators: OperatorRole, which may call
the admin API and nothing else; anyone else: none). These calls need no AWS credentials of
the caller's: the token is the proof."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.errors import error_code
from handler.core.errors import PermissionDenied, StorageError
from handler.core.records.operators import OperatorCredentials


class IdentityPoolCredentials:
    def __init__(self, identity_pool_id: str, user_pool_id: str, client: Any):
        self._pool = identity_pool_id
        self._region = user_pool_id.split("_", 1)[0]
        self._provider = f"cognito-idp.{self._region}.amazonaws.com/{user_pool_id}"
        self._client = client

    def for_token(self, id_token: str) -> OperatorCredentials:
        logins = {self._provider: id_token}
        try:
            identity = self._client.get_id(IdentityPoolId=self._pool, Logins=logins)
            answer = self._client.get_credentials_for_identity(
                IdentityId=identity["IdentityId"], Logins=logins
            )
        except ClientError as exc:
            if error_code(exc) in (
                "NotAuthorizedException",
                "InvalidIdentityPoolConfigurationException",
            ):
                raise PermissionDenied(
                    "Only operators get the admin API's credentials.", code="not_an_operator"
                ) from None
            raise StorageError("The identity pool could not be reached.") from exc
        except BotoCoreError as exc:
            raise StorageError("The identity pool could not be reached.") from exc
        credentials = answer["Credentials"]
        return OperatorCredentials(
            access_key_id=credentials["AccessKeyId"],
            secret_access_key=credentials["SecretKey"],
            session_token=credentials["SessionToken"],
            expires_at=int(credentials["Expiration"].timestamp()),
            region=self._region,
        )
