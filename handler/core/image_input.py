"""Images sent in by clients, as they came (data URLs or file bytes) and as they are once
checked: what a request carries before any work or charge. Decoding them is
``image_decoding``'s, the one module here that loads Pillow."""

import base64
import binascii
import re
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


@dataclass(frozen=True, slots=True)
class ImageSources:
    """Images as they came, not yet decoded: data URLs (JSON) or file bytes (forms).

    Everything that can be checked without decoding (how many, which model takes them) is
    checked first; decoding (``image_decoding.decode``) is the expensive step, taken last."""

    images: tuple[str | bytes, ...] = ()
    mask: str | bytes | None = None
    image_param: str = "image"
    mask_param: str = "mask"


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


def raw_bytes(source: str | bytes, param: str) -> bytes:
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
