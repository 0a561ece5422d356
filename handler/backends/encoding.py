"""Pillow image to bytes in the format the client asked for."""

import io

from PIL import Image, ImageOps

from handler.core.catalog import OutputFormat
from handler.core.errors import BackendError


def encode(image: Image.Image, output_format: OutputFormat, compression: int) -> bytes:
    """``compression`` is OpenAI's output_compression: 100 keeps the most detail."""
    if output_format == "jpeg" and image.mode != "RGB":
        image = image.convert("RGB")  # JPEG has no alpha channel
    options: dict[str, object] = {}
    if output_format in ("jpeg", "webp"):
        options["quality"] = max(1, compression)
    buffer = io.BytesIO()
    image.save(buffer, format=output_format.upper(), **options)
    return buffer.getvalue()


def conform(
    data: bytes, width: int, height: int, output_format: OutputFormat, compression: int
) -> bytes:
    """The image in ``data`` at exactly ``width`` x ``height`` in ``output_format``.

    Bytes that already match (and need no further compression) are returned untouched;
    otherwise the image is resized (when a model's native sizes do not include the one asked
    for) and encoded again. Bytes that are not an image are the backend's error.
    """
    try:
        with Image.open(io.BytesIO(data)) as opened:
            matches = (opened.format or "").lower() == output_format
            if (
                matches
                and opened.size == (width, height)
                and (output_format == "png" or compression == 100)
            ):
                return data
            image: Image.Image = opened.convert("RGBA") if "A" in opened.getbands() else opened
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.LANCZOS)
            return encode(image, output_format, compression)
    except (OSError, ValueError) as exc:  # PIL.UnidentifiedImageError is an OSError
        raise BackendError("The model returned an image that could not be read.") from exc


def edit_region(mask: Image.Image) -> Image.Image:
    """The part of the image to repaint, white on black (what diffusers and SDXL expect).

    OpenAI's masks mark it as transparent; masks without alpha already paint it white."""
    if "A" in mask.getbands():
        return ImageOps.invert(mask.getchannel("A"))
    return mask.convert("L")


def edit_region_png(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as mask:
        return encode(edit_region(mask), "png", 100)
