"""A certificate chain to sign C2PA manifests with where no real one is given: the local
stack, the tests and the benchmarks. A CA of its own issues an end-entity certificate fit for
C2PA (c2pa refuses a self-signed one, and one without the digitalSignature key usage or the
emailProtection/documentSigning extended key usage); its manifests validate, and are trusted
only by whoever takes this CA as a trust anchor. Never for production: no reader trusts it.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Lock

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from handler.provenance.credentials import SigningCredentials

ORGANIZATION = "imagegate local (not for production)"
SIGNER_NAME = "imagegate local signer"
CA_NAME = "imagegate local CA"


def _usage(*, signs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signs,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signs,
        crl_sign=not signs,
        encipher_only=False,
        decipher_only=False,
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def issue_chain(days: int = 365) -> tuple[SigningCredentials, str]:
    """New ES256 signing credentials, and the PEM certificate of the CA that issued them
    (the trust anchor a reader is given to trust them)."""
    now = datetime.now(UTC) - timedelta(minutes=5)  # a clock a little behind still agrees
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(CA_NAME))
        .issuer_name(_name(CA_NAME))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=days + 1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(signs=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(SIGNER_NAME))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signs=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    private_key = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    # The chain stops short of the root, as C2PA asks: a reader trusts the root or not.
    chain = signer.public_bytes(pem).decode()
    return SigningCredentials(chain, private_key, "es256"), ca.public_bytes(pem).decode()


_ISSUED: list[tuple[SigningCredentials, str]] = []
_ISSUING = Lock()


def local_chain() -> tuple[SigningCredentials, str]:
    """This process's local chain, issued once: kept apart from ``functools.cache``, which
    ``container.reset()`` forgets, so images signed before a reset still verify after it."""
    with _ISSUING:
        if not _ISSUED:
            _ISSUED.append(issue_chain())
        return _ISSUED[0]


def local_signing_credentials() -> str:
    """The local chain's credentials, as the deployed secret holds them (JSON)."""
    return local_chain()[0].to_json()


def write_trust_anchor(state_dir: Path, port: int) -> Path:
    """The local chain's CA certificate, for readers to trust its images (README, Provenance)."""
    path = state_dir / f"provenance-ca-{port}.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(local_chain()[1])
    return path
