"""API Gateway's ``AWS_IAM`` authorization, played locally: a route that declares it takes only
requests signed with SigV4 for ``execute-api`` in the API's region by the local stack's own
credentials, within five minutes of now, over the body that came, checked by recomputing the
signature with botocore, as AWS would; the caller then reaches the function as
``requestContext.identity``. Refusals are API Gateway's (403, its messages)."""

import hashlib
import hmac
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from handler.cli.gateway.events import ACCOUNT_ID

# How far a request's X-Amz-Date may be from now, either way: API Gateway's window ("Signature
# expired: … (… - 5 min.)"; S3 allows 15 minutes, API Gateway does not).
SKEW_SECONDS = 5 * 60
SERVICE = "execute-api"
LOCAL_REGION = "us-east-1"  # the local stack's (cli/local.py), where no region is configured
_STAMP = "%Y%m%dT%H%M%SZ"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<headers>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
LOCAL_OPERATOR = f"arn:aws:iam::{ACCOUNT_ID}:user/local-operator"
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)


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
    region: str = LOCAL_REGION  # where the API is: a signature for another region is refused
    # Temporary credentials (the console's operator, from the local identity pool): the
    # request must carry their token, before they expire; the caller is their role.
    session_token: str | None = None
    expires_at: float | None = None
    arn: str = LOCAL_OPERATOR


# Temporary credentials the local stack issued (``moto_cognito``), by access key.
_ISSUED: dict[str, SigningKeys] = {}


def issue(keys: SigningKeys) -> None:
    _ISSUED[keys.access_key] = keys


def keys_for(authorization: str | None, own: SigningKeys | None) -> SigningKeys | None:
    """The credentials a request names: the local stack's own, or ones it issued."""
    parts = _AUTHORIZATION.fullmatch((authorization or "").strip())
    if parts is None or own is None or parts["key"] == own.access_key:
        return own
    issued = _ISSUED.get(parts["key"])
    return None if issued is None else replace(issued, region=own.region)


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
        return _invalid("Authorization header requires 'Credential' parameter.")
    refused = _scope_refusal(keys, parts, given, now if now is not None else time.time())
    if refused is not None:
        return refused
    assert keys is not None  # no keys: every signature was refused above
    token = given.get("x-amz-security-token")
    if keys.session_token is not None and (
        token is None or not hmac.compare_digest(token, keys.session_token)
    ):
        return _invalid("The security token included in the request is invalid.")
    if keys.expires_at is not None and keys.expires_at < (now if now is not None else time.time()):
        return _invalid("The security token included in the request is expired")
    signed = parts["headers"].split(";")
    payload = hashlib.sha256(body).hexdigest()
    if given.get("x-amz-content-sha256", payload) != payload:
        return _invalid(_MISMATCH)  # the body is not the one signed: AWS hashes what came
    request = AWSRequest(
        method=method, url=url, data=body, headers={h: given.get(h, "") for h in signed}
    )
    request.context["timestamp"] = given["x-amz-date"]
    signer = SigV4Auth(
        Credentials(keys.access_key, keys.secret_key, given.get("x-amz-security-token")),
        SERVICE,
        keys.region,
    )
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, parts["signature"]):
        return _invalid(_MISMATCH)
    return {
        "accessKey": keys.access_key,
        "accountId": ACCOUNT_ID,
        "caller": f"AIDALOCALOPERATOR:{keys.access_key}",
        "user": "AIDALOCALOPERATOR",
        "userArn": keys.arn,
    }


def _scope_refusal(
    keys: SigningKeys | None, parts: re.Match[str], given: dict[str, str], now: float
) -> Refusal | None:
    """What API Gateway refuses before it computes a signature: a credential scoped to another
    service, region or day than the request's, a key it does not know, a date outside its
    window, the host left unsigned."""
    if parts["service"] != SERVICE:
        return _invalid(f"Credential should be scoped to correct service: '{SERVICE}'. ")
    if keys is not None and parts["region"] != keys.region:
        return _invalid(f"Credential should be scoped to a valid region, not '{parts['region']}'. ")
    if keys is None or parts["key"] != keys.access_key:
        return _invalid("The security token included in the request is invalid.")
    if "host" not in parts["headers"].split(";"):
        return _invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    stamp = given.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return _invalid(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if parts["date"] != stamp[:8]:
        return _invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{parts['date']}' != '{stamp[:8]}', from '{stamp}'."
        )
    if signed_at < now - SKEW_SECONDS:
        return _invalid(
            f"Signature expired: {stamp} is now earlier than {_stamp(now - SKEW_SECONDS)} "
            f"({_stamp(now)} - 5 min.)"
        )
    if signed_at > now + SKEW_SECONDS:
        return _invalid(
            f"Signature not yet current: {stamp} is still later than "
            f"{_stamp(now + SKEW_SECONDS)} ({_stamp(now)} + 5 min.)"
        )
    return None


def _invalid(message: str) -> Refusal:
    return Refusal("INVALID_SIGNATURE", message)


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime(_STAMP)


def process_signing_keys() -> SigningKeys | None:
    """This process's AWS credentials (the local stack's), if it has any."""
    import botocore.session

    session = botocore.session.get_session()
    credentials = session.get_credentials()
    if credentials is None:
        return None
    frozen = credentials.get_frozen_credentials()
    if not (frozen.access_key and frozen.secret_key):
        return None
    region = session.get_config_variable("region") or LOCAL_REGION
    return SigningKeys(frozen.access_key, frozen.secret_key, region)
