"""Pillow image to bytes in the format the client asked for."""

import io

from PIL import Image, ImageOps, PngImagePlugin

from handler.core.errors import BackendError
from handler.core.model_card import OutputFormat

IMAGE_DESCRIPTION = 0x010E  # EXIF's tag


def encode(
    image: Image.Image, output_format: OutputFormat, compression: int, description: str = ""
) -> bytes:
    """``compression`` is OpenAI's output_compression: 100 keeps the most detail.
    ``description``: what the image shows, in its metadata (PNG's ``Description`` text,
    EXIF's ImageDescription in JPEG and WebP)."""
    if output_format == "jpeg" and image.mode != "RGB":
        image = image.convert("RGB")  # JPEG has no alpha channel
    options: dict[str, object] = {}
    if output_format in ("jpeg", "webp"):
        options["quality"] = max(1, compression)
    if description and output_format == "png":
        options["pnginfo"] = PngImagePlugin.PngInfo()
        options["pnginfo"].add_text("Description", description)  # type: ignore[attr-defined]
    elif description:
        exif = Image.Exif()
        exif[IMAGE_DESCRIPTION] = description
        options["exif"] = exif
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


def encoded_again(original: bytes, data: bytes) -> bytes | None:
    """The provider's ``original`` where ``conform`` encoded it again as ``data`` and it may
    hold a C2PA manifest (its boxes are labelled "c2pa"): the image's signature keeps that
    manifest as an ingredient (``GeneratedImage.original``). None otherwise."""
    return original if data is not original and b"c2pa" in original else None


def edit_region(mask: Image.Image) -> Image.Image:
    """The part of the image to repaint, white on black (what diffusers and SDXL expect).

    OpenAI's masks mark it as transparent (in an alpha channel or a palette's transparency);
    masks with nothing transparent, as browsers' canvases make them, paint it white."""
    if mask.has_transparency_data:
        alpha = mask.convert("RGBA").getchannel("A")
        if alpha.getextrema() != (255, 255):
            return ImageOps.invert(alpha)
    return mask.convert("L")


def edit_region_png(
    data: bytes, size: tuple[int, int] | None = None, *, black_on_white: bool = False
) -> bytes:
    """``edit_region`` as a PNG, fitted to ``size`` when given; ``black_on_white``: the
    region pure black on pure white instead (Amazon's models on Bedrock)."""
    with Image.open(io.BytesIO(data)) as mask:
        region = edit_region(mask)
        if size:
            region = ImageOps.fit(region, size)
        if black_on_white:
            region = region.point(lambda value: 0 if value >= 128 else 255)
        return encode(region, "png", 100)


def fitted(
    data: bytes, size: tuple[int, int], keep: tuple[str, ...] = ("PNG", "JPEG", "WEBP")
) -> bytes:
    """The image cropped and scaled to ``size`` (as the model will use it), as PNG; bytes
    already that size, in a format of ``keep``, come back untouched."""
    with Image.open(io.BytesIO(data)) as image:
        if image.size == size and image.format in keep:
            return data
        return encode(ImageOps.fit(image.convert("RGB"), size), "png", 100)
