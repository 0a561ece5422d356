"""Images sent in by clients: checked before any work or charge.

The declared type is never trusted: the bytes are opened with Pillow, which must recognise
one of the accepted formats, report a size within the pixel limit from the header alone (a
decompression bomb is refused before it is decoded), and then decode completely.
"""

import base64
import binascii
import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from handler.core.errors import InvalidRequest
from handler.core.schemas import GenerationRequest

# What Pillow reports, by what it is. MPO is the JPEG many cameras write (several pictures).
ACCEPTED_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp"}
MAX_IMAGE_BYTES = 4 * 1024 * 1024  # per image, as the providers document
# All images of one request together: base64 in a JSON body must still fit Lambda's 6 MB.
MAX_REQUEST_IMAGE_BYTES = 4_300_000
MAX_PIXELS = 4096 * 4096
MAX_IMAGES = 16
_DATA_URL = re.compile(r"data:image/(?P<type>png|jpeg|jpg|webp);base64,(?P<data>.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class InputImage:
    data: bytes
    format: str  # png | jpeg | webp
    width: int
    height: int
    has_alpha: bool

    def __repr__(self) -> str:  # never the bytes in a log line
        return f"InputImage({self.format}, {self.width}x{self.height}, {len(self.data)} B)"


@dataclass(frozen=True, slots=True)
class ImageInputs:
    images: tuple[InputImage, ...] = ()
    mask: InputImage | None = None
    image_param: str = "image"  # the names the client used, for errors about them
    mask_param: str = "mask"


NO_INPUTS = ImageInputs()


def from_data_url(value: object, param: str) -> bytes:
    """The bytes of a ``data:image/<type>;base64,...`` URL."""
    if not isinstance(value, str):
        raise InvalidRequest(f"{param} must be a data URL string.", param=param)
    match = _DATA_URL.fullmatch(value.strip())
    if match is None:
        raise InvalidRequest(
            f"{param} must be a base64 data URL: data:image/png;base64,... (png, jpeg or "
            "webp). Links to images are not fetched.",
            param=param,
        )
    try:  # line breaks inside the base64 are common and harmless
        return base64.b64decode(re.sub(r"\s+", "", match["data"]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest(
            f"{param} is not valid base64: a character outside the alphabet, or cut short.",
            param=param,
        ) from exc


def inspect(data: bytes, param: str) -> InputImage:
    from PIL import Image  # loaded by the first request that brings an image (or at init)

    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidRequest(
            f"{param} is {len(data) / 2**20:.1f} MB; each image may be at most "
            f"{MAX_IMAGE_BYTES // 2**20} MB.",
            param=param,
            code="image_too_large",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "WEBP"]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise InvalidRequest(
                        f"{param} is {width}x{height}; images may have at most "
                        f"{MAX_PIXELS:,} pixels.",
                        param=param,
                        code="image_too_large",
                    )
                image.load()  # a truncated or corrupt file fails here, not in a backend
                found = ACCEPTED_FORMATS[str(image.format)]
                has_alpha = "A" in image.getbands() or "transparency" in image.info
    except InvalidRequest:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidRequest(
            f"{param} has too many pixels; images may have at most {MAX_PIXELS:,}.",
            param=param,
            code="image_too_large",
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidRequest(
            f"{param} is not a readable png, jpeg or webp image.",
            param=param,
            code="invalid_image",
        ) from exc
    return InputImage(data, found, width, height, has_alpha)


def check_inputs(
    images: Sequence[InputImage], mask: InputImage | None, *, image_param: str, mask_param: str
) -> ImageInputs:
    """The request-wide rules once decoded: how much in all, and a mask that fits. (How many
    is checked before decoding, in ``ImageSources.decode``.)"""
    total = sum(len(image.data) for image in images) + (len(mask.data) if mask else 0)
    if total > MAX_REQUEST_IMAGE_BYTES:
        raise InvalidRequest(
            f"The images come to {total / 2**20:.1f} MB; a request may carry at most "
            f"{MAX_REQUEST_IMAGE_BYTES / 2**20:.1f} MB of images. Send smaller images.",
            param=image_param,
            code="image_too_large",
        )
    if mask is not None:
        if not images:
            raise InvalidRequest("A mask needs an image to apply to.", param=mask_param)
        first = images[0]
        if (mask.width, mask.height) != (first.width, first.height):
            raise InvalidRequest(
                f"The mask is {mask.width}x{mask.height} but the image is "
                f"{first.width}x{first.height}; they must match.",
                param=mask_param,
            )
    return ImageInputs(tuple(images), mask, image_param, mask_param)


@dataclass(frozen=True, slots=True)
class ImageSources:
    """Images as they came, not yet decoded: data URLs (JSON) or file bytes (forms).

    Everything that can be checked without decoding (how many, which model takes them) is
    checked first; ``decode`` is the expensive step, taken last."""

    images: tuple[str | bytes, ...] = ()
    mask: str | bytes | None = None
    image_param: str = "image"
    mask_param: str = "mask"

    def decode(self) -> ImageInputs:
        if len(self.images) > MAX_IMAGES:
            raise InvalidRequest(
                f"{len(self.images)} images sent; at most {MAX_IMAGES}.", param=self.image_param
            )
        images = []
        for index, source in enumerate(self.images):
            param = image_name(self.image_param, index, len(self.images))
            images.append(inspect(_raw(source, param), param))
        mask = None
        if self.mask is not None:
            mask = inspect(_raw(self.mask, self.mask_param), self.mask_param)
        return check_inputs(images, mask, image_param=self.image_param, mask_param=self.mask_param)


NO_SOURCES = ImageSources()


def image_name(param: str, index: int, count: int) -> str:
    """How errors name one of several images: ``image[2]``, ``imageDataUrls[0]``."""
    return param if count == 1 else f"{param.removesuffix('[]')}[{index}]"


def data_url(source: str | bytes) -> str:
    """A data URL of an image's bytes, typed by their signature (a data URL as it is)."""
    if isinstance(source, str):
        return source
    kind = "png"
    if source.startswith(b"\xff\xd8"):
        kind = "jpeg"
    elif source[:4] == b"RIFF" and source[8:12] == b"WEBP":
        kind = "webp"
    return f"data:image/{kind};base64,{base64.b64encode(source).decode('ascii')}"


def _raw(source: str | bytes, param: str) -> bytes:
    return source if isinstance(source, bytes) else from_data_url(source, param)


def from_request(request: GenerationRequest) -> ImageSources:
    """The images of a JSON request: ``image``, ``imageDataUrl`` or ``imageDataUrls`` (one of
    them), and ``mask`` or ``maskDataUrl``, all data URLs. Nothing is decoded here."""
    given = {
        name: value
        for name, value in (
            ("image", request.image),
            ("imageDataUrl", request.imageDataUrl),
            ("imageDataUrls", request.imageDataUrls),
        )
        if value is not None
    }
    if len(given) > 1:
        raise InvalidRequest(
            f"Send the input images once: {' or '.join(given)}, not both.",
            param=list(given)[1],
        )
    image_param, urls = next(iter(given.items()), ("image", []))
    if request.mask is not None and request.maskDataUrl is not None:
        raise InvalidRequest("Send the mask once: mask or maskDataUrl.", param="maskDataUrl")
    return ImageSources(
        images=tuple([urls] if isinstance(urls, str) else urls),
        mask=request.mask if request.mask is not None else request.maskDataUrl,
        image_param=image_param,
        mask_param="maskDataUrl" if request.maskDataUrl is not None else "mask",
    )
