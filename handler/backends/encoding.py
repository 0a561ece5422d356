"""Pillow image to bytes in the format the client asked for."""

import io

from PIL import Image

from handler.core.catalog import OutputFormat


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
