"""Provenance: every image delivered carries a C2PA manifest, signed with the operator's
certificate, saying a trained model made it, which one, where and when (``manifest``).

A deployment given no signing credentials delivers its images unmarked and says so (a
warning in its log once per instance, and ``imagegate preflight``)."""

from collections.abc import Sequence
from typing import Protocol

from pydantic import SecretStr

from handler.aws.secrets import secret_reader
from handler.core.inference import GeneratedImage
from handler.core.spec import GenerationSpec
from handler.observability import logger
from handler.ports.provenance import Provenance
from handler.provenance.c2pa_signing import C2paProvenance


class Unsigned:
    """No signing credentials: images go out as made, without a manifest."""

    def __init__(self) -> None:
        self._told = False

    def sign(self, spec: GenerationSpec, images: Sequence[GeneratedImage]) -> list[GeneratedImage]:
        if not self._told:
            logger.warning(
                "images are delivered without a C2PA manifest: no signing certificate is "
                "configured (ProvenanceSigningSecret)"
            )
            self._told = True
        return list(images)


class SigningSettings(Protocol):
    """What ``Settings`` says of the signing credentials."""

    @property
    def provenance_signing(self) -> SecretStr | None: ...  # the secret's JSON: local runs

    @property
    def provenance_signing_secret(self) -> str | None: ...  # its name or ARN: deployed


def provenance(settings: SigningSettings) -> Provenance:
    """Signing with the credentials the settings give directly or by their secret's name or
    ARN; unsigned when they give neither."""
    value, name = settings.provenance_signing, settings.provenance_signing_secret
    if value is None and not name:
        return Unsigned()
    return C2paProvenance(secret_reader(value, name, "C2PA signing secret"))
