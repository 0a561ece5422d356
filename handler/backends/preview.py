"""The ``preview`` backend: a stand-in for offline use, not a model.

It draws a deterministic abstract picture from the prompt, negative prompt, steps and seed, at
exactly the requested size and format, so the whole flow (keys, storage, URLs, billing) runs
with no GPU and no network. The same inputs give the same picture, byte for byte.
"""

import hashlib
import io
import random
from collections.abc import Iterator
from functools import cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

from handler.backends.encoding import edit_region, encode
from handler.core.catalog import CatalogModel
from handler.core.deadline import Deadline
from handler.core.errors import BackendNotConfigured
from handler.core.inference import GeneratedImage, PartialImage
from handler.core.model_card import OutputFormat
from handler.core.spec import GenerationSpec

_DIRECTIONS = list(Image.Transpose)


class PreviewBackend:
    def __init__(self, *, instant: bool = False):
        """``instant``: one flat picture per size and format, made once (benchmarks measure
        imagegate, not drawing)."""
        self._instant = instant

    def unserved(self, model: CatalogModel) -> BackendNotConfigured | None:
        return None

    def generate(self, spec: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]:
        # Milliseconds per picture: the deadline cannot pass here in any way worth checking.
        draw = _flat if self._instant else _drawn
        return [_image(spec, seed, draw(spec, seed)) for seed in spec.seeds]

    def stream(
        self, spec: GenerationSpec, deadline: Deadline
    ) -> Iterator[PartialImage | list[GeneratedImage]]:
        """Each picture as it comes into focus: ``spec.partial_images`` previews, each in
        blocks half the size of the last (deterministic, as the picture is), then the
        pictures."""
        images = []
        for index, seed in enumerate(spec.seeds):
            picture = _render(spec, seed)
            for step in range(spec.partial_images):
                block = 2 ** (spec.partial_images - step + 1)
                small = picture.resize((max(1, spec.width // block), max(1, spec.height // block)))
                preview = small.resize(picture.size, Image.Resampling.NEAREST)
                data = encode(
                    preview, spec.output_format, spec.output_compression, _said(spec, seed)
                )
                yield PartialImage(data, index, step)
            images.append(
                _image(
                    spec,
                    seed,
                    encode(picture, spec.output_format, spec.output_compression, _said(spec, seed)),
                )
            )
        yield images


def _image(spec: GenerationSpec, seed: int, data: bytes) -> GeneratedImage:
    return GeneratedImage(
        data=data, output_format=spec.output_format, seed=seed, width=spec.width, height=spec.height
    )


def _drawn(spec: GenerationSpec, seed: int) -> bytes:
    picture = _render(spec, seed)
    return encode(picture, spec.output_format, spec.output_compression, _said(spec, seed))


def _said(spec: GenerationSpec, seed: int) -> str:
    """What a preview picture was drawn from, in its metadata (as diffusion tools write their
    parameters), so what reads it (a test's stand-in moderation, say) knows it."""
    return f"{spec.prompt} | seed {seed}"


def _flat(spec: GenerationSpec, seed: int) -> bytes:
    return _flat_picture(spec.width, spec.height, spec.output_format, spec.output_compression)


@cache
def _flat_picture(width: int, height: int, output_format: OutputFormat, compression: int) -> bytes:
    return encode(Image.new("RGB", (width, height), (90, 120, 200)), output_format, compression)


def _render(spec: GenerationSpec, seed: int) -> Image.Image:
    inputs = hashlib.sha256(b"".join(image.data for image in spec.inputs.images)).hexdigest()
    material = (
        f"{spec.prompt}\x00{spec.negative_prompt or ''}\x00{spec.steps}\x00{seed}\x00{inputs}"
    )
    rng = random.Random(hashlib.sha256(material.encode()).digest())  # noqa: S311 - art, not keys
    width, height = spec.width, spec.height

    def colour() -> tuple[int, int, int]:
        return (rng.randrange(256), rng.randrange(256), rng.randrange(256))

    # A gradient in one of eight directions, stretched to the canvas: no empty corners.
    gradient = Image.linear_gradient("L").transpose(_DIRECTIONS[rng.randrange(len(_DIRECTIONS))])
    gradient = gradient.resize((width, height))
    picture = ImageOps.colorize(gradient, colour(), colour()).convert("RGBA")
    if spec.background == "transparent":
        picture.putalpha(0)
    draw = ImageDraw.Draw(picture, "RGBA")
    shortest = min(width, height)
    for _ in range(4 + (spec.steps or 8) // 4):
        radius = rng.randrange(shortest // 12 + 1, shortest // 3 + 2)
        x, y = rng.randrange(width), rng.randrange(height)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(*colour(), 190))
    if spec.inputs.images:
        picture = _apply_input(picture, spec)
        draw = ImageDraw.Draw(picture, "RGBA")
    _label(draw, f"imagegate preview · seed {seed}", width, height)
    return picture if spec.background == "transparent" else picture.convert("RGB")


def _apply_input(art: Image.Image, spec: GenerationSpec) -> Image.Image:
    """The first input image, moved towards the picture by ``strength`` (1: all picture);
    with a mask, only inside it."""
    size = (spec.width, spec.height)
    base = ImageOps.fit(_open(spec.inputs.images[0].data).convert("RGBA"), size)
    result = Image.blend(base, art, spec.strength if spec.strength is not None else 1.0)
    if spec.inputs.mask is None:
        return result
    region = edit_region(ImageOps.fit(_open(spec.inputs.mask.data), size))
    return Image.composite(result, base, region)


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _label(draw: ImageDraw.ImageDraw, text: str, width: int, height: int) -> None:
    font = ImageFont.load_default(size=max(10, min(width, height) // 24))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    margin = max(4, (bottom - top) // 2)
    box_top = height - (bottom - top) - 2 * margin
    draw.rectangle((0, box_top, width, height), fill=(0, 0, 0, 150))
    draw.text(
        ((width - (right - left)) // 2, box_top + margin - top),
        text,
        font=font,
        fill=(255, 255, 255, 255),
    )
