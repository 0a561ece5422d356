"""The operator's signing credentials as the secret holds them: JSON with a PEM certificate
chain (the signing certificate first, then the intermediates up to, not including, the root)
and the PEM private key of the signing certificate; ``algorithm`` is optional, found from the
key when left out.

    {"certificate_chain": "-----BEGIN CERTIFICATE-----...", "private_key": "-----BEGIN ..."}
"""

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
_CURVES = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}


@dataclass(frozen=True, slots=True)
class SigningCredentials:
    certificate_chain: str
    private_key: str = field(repr=False)
    algorithm: str  # one of ALGORITHMS, as c2pa names them

    @classmethod
    def parse(cls, text: str) -> "SigningCredentials":
        """Credentials from the secret's JSON; ``ValueError`` saying what is wrong (never
        what the secret holds)."""
        try:
            given: Any = json.loads(text)
        except ValueError:
            given = None
        if not isinstance(given, dict):
            raise ValueError("the signing secret is not a JSON object")
        chain, key = given.get("certificate_chain"), given.get("private_key")
        if not isinstance(chain, str) or "BEGIN CERTIFICATE" not in chain:
            raise ValueError("the signing secret has no PEM certificate_chain")
        if not isinstance(key, str) or "PRIVATE KEY" not in key:
            raise ValueError("the signing secret has no PEM private_key")
        algorithm = given.get("algorithm") or algorithm_of(key)
        if algorithm not in ALGORITHMS:
            raise ValueError(f"the signing algorithm must be one of {', '.join(ALGORITHMS)}")
        return cls(chain, key, algorithm)

    def signing_certificate(self) -> "Certificate":
        """The chain's first certificate: the one whose key signs."""
        from cryptography import x509

        return x509.load_pem_x509_certificates(self.certificate_chain.encode())[0]

    def to_json(self) -> str:
        return json.dumps(
            {
                "certificate_chain": self.certificate_chain,
                "private_key": self.private_key,
                "algorithm": self.algorithm,
            }
        )


def algorithm_of(private_key: str) -> str:
    """What a key signs with: ECDSA by its curve, Ed25519, or RSA-PSS with SHA-256."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(private_key.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("the signing secret's private_key cannot be read") from exc
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVES:
        return _CURVES[key.curve.name]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise ValueError("the signing key must be ECDSA (P-256, P-384, P-521), Ed25519 or RSA")
