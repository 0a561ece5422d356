"""Whether the images will carry a C2PA manifest: with no ProvenanceSigningSecret they are
delivered unmarked as AI-generated (a warning: the deploy works); with one, whether it is
there and holds a certificate chain and key that c2pa signs with (the functions would
otherwise refuse to deliver any image)."""

from datetime import UTC, datetime, timedelta

from handler.aws.errors import Refused, aws_errors
from handler.cli.preflight.account import Account
from handler.cli.preflight.deployment import Deployment
from handler.cli.preflight.findings import Finding, fail, ok, unchecked, warn
from handler.core.errors import ServiceError, StorageError
from handler.core.inference import GeneratedImage
from handler.provenance.c2pa_signing import C2paProvenance
from handler.provenance.credentials import SigningCredentials
from handler.provenance.manifest import Generation

PARAMETER = "ProvenanceSigningSecret"
CHECK = "provenance"
_SOON = timedelta(days=30)
# A 1x1 PNG: what a trial signature signs.
_PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8ffff3f0005fe02fea7d6a4a30000000049454e44ae426082"
)


def provenance(deployment: Deployment, account: Account) -> Finding:
    arn = deployment.parameters.get(PARAMETER, "")
    if not arn:
        return warn(
            CHECK,
            f"images will be delivered without a C2PA manifest, unmarked as AI-generated "
            f"({PARAMETER} is empty)",
            f"store a certificate chain and key in Secrets Manager and give its ARN as "
            f"{PARAMETER} (README, Provenance)",
        )
    try:
        with aws_errors(f"could not read {arn}", expected={"ResourceNotFoundException"}):
            secret = account.client("secretsmanager").get_secret_value(SecretId=arn)
    except Refused:
        return fail(
            CHECK,
            f"no secret {arn} in {account.region} ({PARAMETER})",
            "aws secretsmanager create-secret --name ... --secret-string file://signing.json",
        )
    except StorageError as exc:
        return unchecked(CHECK, exc)
    return _credentials(secret.get("SecretString", ""))


def _credentials(text: str) -> Finding:
    fix = "store the PEM chain and key as README, Provenance shows"
    try:
        credentials = SigningCredentials.parse(text)
        trial = Generation("trial", "preflight", "preview", None, "preflight", datetime.now(UTC))
        C2paProvenance(lambda: text).sign_made(trial, [GeneratedImage(_PIXEL, "png", 0, 1, 1)])
    except ValueError as exc:
        return fail(CHECK, str(exc), fix)
    except ServiceError as exc:
        return fail(CHECK, f"c2pa cannot sign with the secret: {exc.__cause__}", fix)
    signer = credentials.signing_certificate()
    expires = signer.not_valid_after_utc
    said = f"images are signed by {signer.subject.rfc4514_string()}, until {expires:%Y-%m-%d}"
    if expires - datetime.now(UTC) < _SOON:
        return warn(CHECK, said, "renew the certificate and update the secret")
    return ok(CHECK, said)
