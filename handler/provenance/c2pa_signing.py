"""C2PA manifests signed with the operator's certificate, by c2pa-python. The library (a
native one of some 20 MB) is loaded by the first image signed: a function that signs none
never loads it.

A manifest that came with an image is kept, not stripped: the provider's own (on the bytes
it sent, even where they were encoded again) as a ``componentOf`` ingredient, and an input
image's (edits, variations) as an ``inputTo`` one, C2PA's word for what a generative model
was given. Neither can be ``parentOf``: an image whose first action is ``c2pa.created`` has
no parent.
"""

import io
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from handler.core.errors import ServiceError
from handler.core.inference import GeneratedImage
from handler.core.spec import GenerationSpec
from handler.observability import logger
from handler.provenance.credentials import SigningCredentials
from handler.provenance.manifest import MEDIA_TYPES, Generation, manifest, media_type

# No thumbnail: the image is its own, and c2pa's costs tens of milliseconds and up to a MB per
# image. Reading an input's manifest fetches nothing over the network.
SETTINGS = {
    "builder": {"thumbnail": {"enabled": False}},
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}
# The label of C2PA's JUMBF boxes: bytes without it hold no manifest and are not parsed.
_LABEL = b"c2pa"
Input = tuple[bytes, str]  # an input image's bytes and media type


class C2paProvenance:
    """Signs with the credentials ``secret`` reads (each time: Parameters caches the secret,
    so a rotated one is taken up within minutes); the c2pa signer is made again only when
    the secret changed."""

    def __init__(self, secret: Callable[[], str], clock: Callable[[], float] = time.time):
        self._secret = secret
        self._clock = clock
        self._lock = threading.Lock()  # one c2pa signer, used by one image at a time
        self._signer: tuple[str, Any] | None = None  # the secret it was made of, the signer
        self._context: Any = None

    def sign(self, spec: GenerationSpec, images: Sequence[GeneratedImage]) -> list[GeneratedImage]:
        given = (*spec.inputs.images, spec.inputs.mask)
        inputs = [(i.data, MEDIA_TYPES[i.format]) for i in given if i and _LABEL in i.data]
        return self.sign_made(Generation.of(spec, self._clock()), images, inputs)

    def sign_made(
        self,
        generation: Generation,
        images: Sequence[GeneratedImage],
        inputs: Sequence[Input] = (),
    ) -> list[GeneratedImage]:
        """``sign``, for images whose making ``generation`` tells, from these inputs."""
        import c2pa

        with self._lock:
            signer = self._current_signer()
            try:
                return [self._signed(image, generation, inputs, signer) for image in images]
            except c2pa.C2paError as exc:
                logger.error("signing failed", request_id=generation.request_id, reason=str(exc))
                raise _unsigned() from exc

    def _signed(
        self,
        image: GeneratedImage,
        generation: Generation,
        inputs: Sequence[Input],
        signer: Any,
    ) -> GeneratedImage:
        import c2pa

        with c2pa.Builder(manifest(generation, image.seed), self._context) as builder:
            provided = image.original or image.data
            kind = media_type(provided)
            if kind and self.carries_manifest(provided, kind):
                ingredient = {"title": "image from the provider", "relationship": "componentOf"}
                builder.add_ingredient(ingredient, kind, io.BytesIO(provided))
            for index, (data, kind) in enumerate(inputs):
                if self.carries_manifest(data, kind):
                    ingredient = {"title": f"input image {index}", "relationship": "inputTo"}
                    builder.add_ingredient(ingredient, kind, io.BytesIO(data))
            signed = io.BytesIO()
            builder.sign(signer, MEDIA_TYPES[image.output_format], io.BytesIO(image.data), signed)
        return replace(image, data=signed.getvalue(), original=None)

    def carries_manifest(self, data: bytes, kind: str) -> bool:
        if _LABEL not in data:
            return False
        import c2pa

        try:
            with c2pa.Reader(kind, io.BytesIO(data), context=self._context) as reader:
                return reader.get_active_manifest() is not None
        except c2pa.C2paError:  # none, or one c2pa cannot read: nothing to keep
            return False

    def _current_signer(self) -> Any:
        import c2pa

        secret = self._secret()
        if self._signer is not None and self._signer[0] == secret:
            return self._signer[1]
        try:
            credentials = SigningCredentials.parse(secret)
            info = c2pa.C2paSignerInfo(
                credentials.algorithm.encode(),
                credentials.certificate_chain.encode(),
                credentials.private_key.encode(),
                None,
            )
            signer = c2pa.Signer.from_info(info)
            self._context = self._context or c2pa.Context.from_dict(SETTINGS)
        except (ValueError, c2pa.C2paError) as exc:
            logger.error("signing credentials refused", reason=str(exc))
            raise _unsigned() from exc
        if self._signer is not None:
            self._signer[1].close()
        self._signer = (secret, signer)
        return signer


def _unsigned() -> ServiceError:
    return ServiceError(
        "The images were generated but could not be signed as AI-generated (C2PA), so they "
        "are not delivered and not charged.",
        code="provenance_error",
        should_retry=False,
    )
