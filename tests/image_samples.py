"""Images, good and bad, for the image-input tests."""

import base64
import io
import struct
import zlib

from PIL import Image


def picture(
    size: tuple[int, int] = (64, 64),
    fmt: str = "PNG",
    colour: object = (200, 30, 30),
    mode: str = "RGB",
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format=fmt)  # type: ignore[arg-type]
    return buffer.getvalue()


def noise(size: tuple[int, int]) -> bytes:
    """A PNG that does not compress: about 3 bytes a pixel."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, bytes(_random_bytes(size[0] * size[1] * 3))).save(
        buffer, format="PNG", compress_level=0
    )
    return buffer.getvalue()


def _random_bytes(count: int) -> bytes:
    import random

    return random.Random(7).randbytes(count)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` and holds almost nothing: a bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def data_url(data: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


def top_half_mask(size: int, convention: str = "white") -> bytes:
    """A square mask whose top half is what to edit: painted white ("white", plain masks) or
    left transparent on opaque black ("alpha", OpenAI's masks)."""
    from PIL import ImageDraw

    edit: int | tuple[int, int, int, int]
    if convention == "alpha":
        mask, edit = Image.new("RGBA", (size, size), (0, 0, 0, 255)), (0, 0, 0, 0)
    else:
        mask, edit = Image.new("L", (size, size), 0), 255
    ImageDraw.Draw(mask).rectangle((0, 0, size - 1, size // 2 - 1), fill=edit)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()
