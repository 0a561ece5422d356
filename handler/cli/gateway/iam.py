"""API Gateway's ``AWS_IAM`` authorization, played locally: a route that declares it takes only
requests signed with SigV4 for ``execute-api`` by the local stack's own credentials, checked by
recomputing the signature with botocore, as AWS would; the caller then reaches the function
as ``requestContext.identity``. Refusals are API Gateway's (403, its messages)."""

import hmac
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from handler.cli.gateway.events import ACCOUNT_ID

# How far a request's X-Amz-Date may be from now (AWS's own window).
SKEW_SECONDS = 5 * 60
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<headers>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
LOCAL_OPERATOR = f"arn:aws:iam::{ACCOUNT_ID}:user/local-operator"


@dataclass(frozen=True)
class Refusal:
    kind: str  # the gateway response type
    message: str

    @property
    def error_type(self) -> str:  # its x-amzn-ErrorType
        if self.kind == "MISSING_AUTHENTICATION_TOKEN":
            return "MissingAuthenticationTokenException"
        return "InvalidSignatureException"


@dataclass(frozen=True)
class SigningKeys:
    access_key: str
    secret_key: str


def verify(
    keys: SigningKeys | None,
    *,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    now: float | None = None,
) -> dict[str, Any] | Refusal:
    """The caller's ``identity`` if the request is signed by ``keys``, else the refusal."""
    given = {name.lower(): value for name, value in headers}
    header = given.get("authorization")
    if not header or not header.startswith("AWS4-HMAC-SHA256 "):
        return Refusal("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    parts = _AUTHORIZATION.fullmatch(header.strip())
    if parts is None:
        return Refusal("INVALID_SIGNATURE", "Authorization header requires 'Credential' parameter.")
    if parts["service"] != "execute-api":
        return Refusal(
            "INVALID_SIGNATURE", "Credential should be scoped to correct service: 'execute-api'."
        )
    if keys is None or parts["key"] != keys.access_key:
        return Refusal(
            "INVALID_SIGNATURE", "The security token included in the request is invalid."
        )
    stamp = given.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return Refusal(
            "INVALID_SIGNATURE",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    if abs((now if now is not None else time.time()) - signed_at) > SKEW_SECONDS:
        return Refusal(
            "INVALID_SIGNATURE",
            f"Signature expired: {stamp} is now earlier than the allowed window.",
        )
    signed = parts["headers"].split(";")
    request = AWSRequest(
        method=method, url=url, data=body, headers={h: given.get(h, "") for h in signed}
    )
    request.context["timestamp"] = stamp
    signer = SigV4Auth(
        Credentials(keys.access_key, keys.secret_key, given.get("x-amz-security-token")),
        "execute-api",
        parts["region"],
    )
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, parts["signature"]):
        return Refusal(
            "INVALID_SIGNATURE",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return {
        "accessKey": keys.access_key,
        "accountId": ACCOUNT_ID,
        "caller": f"AIDALOCALOPERATOR:{keys.access_key}",
        "user": "AIDALOCALOPERATOR",
        "userArn": LOCAL_OPERATOR,
    }


def process_signing_keys() -> SigningKeys | None:
    """This process's AWS credentials (the local stack's), if it has any."""
    import botocore.session

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        return None
    frozen = credentials.get_frozen_credentials()
    if not (frozen.access_key and frozen.secret_key):
        return None
    return SigningKeys(frozen.access_key, frozen.secret_key)
