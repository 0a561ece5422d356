"""Reading an image's C2PA manifest as a reader that trusts the local test CA would, and
signing images as a provider that signs its own would."""

import io
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import c2pa

from handler.cli.signing_chain import SIGNER_NAME, issue_chain, local_chain
from handler.provenance.credentials import SigningCredentials
from handler.provenance.manifest import GENERATION_LABEL, TRAINED_ALGORITHMIC_MEDIA, media_type

PROVIDER_MODEL = "gpt-image-1"


@dataclass(frozen=True)
class Manifest:
    """What a reader finds in an image: its validation state, its active manifest and every
    manifest the image carries (its ingredients' too), by label."""

    state: str  # Trusted, Valid or Invalid
    active: dict[str, Any]
    manifests: dict[str, dict[str, Any]]
    failures: list[str]

    @property
    def created(self) -> dict[str, Any]:
        [actions] = [a for a in self.active["assertions"] if a["label"].startswith("c2pa.actions")]
        [created] = [a for a in actions["data"]["actions"] if a["action"] == "c2pa.created"]
        return dict(created)

    @property
    def generation(self) -> dict[str, Any]:
        [found] = [a for a in self.active["assertions"] if a["label"] == GENERATION_LABEL]
        return dict(found["data"])

    @property
    def ingredients(self) -> list[dict[str, Any]]:
        return list(self.active.get("ingredients", []))

    def of_ingredient(self, ingredient: dict[str, Any]) -> dict[str, Any]:
        """The manifest an ingredient brought with it."""
        return self.manifests[ingredient["active_manifest"]]


@cache
def _trusting_local_ca() -> Any:
    return c2pa.Context.from_dict(
        {"trust": {"trust_anchors": local_chain()[1]}, "verify": {"verify_trust": True}}
    )


def read_manifest(data: bytes) -> Manifest:
    kind = media_type(data)
    assert kind is not None, "not a PNG, JPEG or WebP image"
    with c2pa.Reader(kind, io.BytesIO(data), context=_trusting_local_ca()) as reader:
        store = json.loads(reader.json())
        state = reader.get_validation_state()
        results = reader.get_validation_results() or {}
    failures = [f["code"] for f in results.get("activeManifest", {}).get("failure", [])]
    manifests = store["manifests"]
    return Manifest(state, manifests[store["active_manifest"]], manifests, failures)


def signer_serial(credentials: SigningCredentials) -> str:
    return str(credentials.signing_certificate().serial_number)


def assert_marked(data: bytes, model: str) -> Manifest:
    """``data`` carries a valid manifest, signed by this deployment's (local) certificate,
    saying ``model`` made it with a trained algorithm."""
    found = read_manifest(data)
    assert found.state == "Trusted", found.failures
    signature = found.active["signature_info"]
    assert signature["common_name"] == SIGNER_NAME
    assert signature["cert_serial_number"] == signer_serial(local_chain()[0])
    assert found.created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert found.created["softwareAgent"]["name"] == model
    assert found.generation["model"] == model
    assert found.active["claim_generator_info"][0]["name"] == "imagegate"
    return found


@cache
def _provider_signer() -> Any:
    credentials, _ = issue_chain()  # another CA: the provider's, not ours
    info = c2pa.C2paSignerInfo(
        b"es256", credentials.certificate_chain.encode(), credentials.private_key.encode(), None
    )
    return c2pa.Signer.from_info(info)


def provider_signed(data: bytes) -> bytes:
    """``data`` signed as a provider signs its images: made by its model, its own manifest."""
    kind = media_type(data)
    assert kind is not None
    created = {
        "action": "c2pa.created",
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": {"name": PROVIDER_MODEL},
    }
    definition = {
        "claim_generator_info": [{"name": "a provider", "version": "1"}],
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [created]}}],
    }
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with c2pa.Builder(definition, context) as builder:
        signed = io.BytesIO()
        builder.sign(_provider_signer(), kind, io.BytesIO(data), signed)
    return signed.getvalue()
