"""Images sent in by clients, decoded: checked before any work or charge.

The declared type is never trusted: the bytes are opened with Pillow, which must recognise
one of the accepted formats, report a size within the pixel limit from the header alone (a
decompression bomb is refused before it is decoded), and then decode completely. Loaded by the
first request that brings an image.
"""

import io
import warnings
from collections.abc import Sequence

from handler.core.errors import InvalidRequest
from handler.core.image_input import (
    ACCEPTED_FORMATS,
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    MAX_PIXELS,
    MAX_REQUEST_IMAGE_BYTES,
    ImageInputs,
    ImageSources,
    InputImage,
    image_name,
    raw_bytes,
)


def decode(sources: ImageSources) -> ImageInputs:
    """Decode and check every image of ``sources``: the expensive step, taken last."""
    if len(sources.images) > MAX_IMAGES:
        raise InvalidRequest(
            f"{len(sources.images)} images sent; at most {MAX_IMAGES}.", param=sources.image_param
        )
    images = []
    for index, source in enumerate(sources.images):
        param = image_name(sources.image_param, index, len(sources.images))
        images.append(inspect(raw_bytes(source, param), param))
    mask = None
    if sources.mask is not None:
        mask = inspect(raw_bytes(sources.mask, sources.mask_param), sources.mask_param)
    return check_inputs(
        images, mask, image_param=sources.image_param, mask_param=sources.mask_param
    )


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
