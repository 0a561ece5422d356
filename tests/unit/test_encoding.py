import base64
import io

import pytest
from PIL import Image

from handler.backends.encoding import conform, encoded_again
from handler.backends.sagemaker.contracts import CONTRACTS
from handler.core.errors import BackendError
from tests.provenance import provider_signed
from tests.support import open_image


def _jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def test_matching_bytes_come_back_untouched() -> None:
    data = _jpeg((64, 64))
    assert conform(data, 64, 64, "jpeg", 100) is data


def test_compression_is_applied_even_when_size_and_format_match() -> None:
    data = _jpeg((256, 256))
    squeezed = conform(data, 256, 256, "jpeg", 20)
    assert len(squeezed) < len(data)
    assert open_image(squeezed).size == (256, 256)


def test_size_and_format_are_converted() -> None:
    decoded = open_image(conform(_jpeg((100, 60)), 200, 120, "webp", 90))
    assert (decoded.size, decoded.format) == ((200, 120), "WEBP")


def test_what_is_not_an_image_is_a_backend_error() -> None:
    with pytest.raises(BackendError):
        conform(b"<html>Bad gateway</html>", 64, 64, "png", 100)


@pytest.mark.parametrize(
    "body",
    [
        b'{"images": [{"b64": "not base64!", "seed": 1}]}',
        b'{"images": [{"seed": 1}]}',
        b'{"images": [{"b64": "aGk=", "seed": "one"}]}',
        b"[]",
        b"<html>",
    ],
)
def test_answers_off_the_contract_are_backend_errors(body: bytes) -> None:
    with pytest.raises(BackendError):
        CONTRACTS["imagegate"].images(body, [1])


def test_jumpstart_answer_with_bad_base64_is_a_backend_error() -> None:
    body = b'{"generated_images": ["%%%"]}'
    with pytest.raises(BackendError):
        CONTRACTS["jumpstart-sd"].images(body, [1])
    valid = base64.b64encode(_jpeg((8, 8))).decode()
    assert CONTRACTS["jumpstart-sd"].images(f'{{"generated_images": ["{valid}"]}}'.encode(), [1])


def _mask_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _top_half(mode: str, edit: object, keep: object) -> Image.Image:
    from PIL import ImageDraw

    mask = Image.new(mode, (64, 64), keep)  # type: ignore[arg-type]
    ImageDraw.Draw(mask).rectangle((0, 0, 63, 31), fill=edit)  # type: ignore[arg-type]
    return mask


@pytest.mark.parametrize(
    "mask",
    [
        _top_half("RGBA", (0, 0, 0, 0), (0, 0, 0, 255)),  # OpenAI: transparent = edit
        _top_half("RGBA", (255, 255, 255, 255), (0, 0, 0, 255)),  # a browser canvas, opaque
        _top_half("L", 255, 0),  # plain white = edit
    ],
    ids=["openai-alpha", "opaque-rgba", "grey"],
)
def test_every_mask_convention_becomes_white_means_repaint(mask: Image.Image) -> None:
    from handler.backends.encoding import edit_region_png

    region = open_image(edit_region_png(_mask_png(mask)))
    assert (region.getpixel((32, 10)), region.getpixel((32, 50))) == (255, 0)


def test_a_palette_mask_with_transparency() -> None:
    from handler.backends.encoding import edit_region_png

    palette = _top_half("RGBA", (0, 0, 0, 0), (0, 0, 0, 255)).convert("P")
    assert palette.has_transparency_data
    region = open_image(edit_region_png(_mask_png(palette)))
    assert (region.getpixel((32, 10)), region.getpixel((32, 50))) == (255, 0)


def test_a_provider_image_encoded_again_is_kept_only_where_it_may_carry_a_manifest() -> None:
    signed = provider_signed(_jpeg((64, 64)))
    again = conform(signed, 32, 32, "png", 100)
    assert encoded_again(signed, again) is signed  # its manifest is not in ``again``
    assert encoded_again(signed, conform(signed, 64, 64, "jpeg", 100)) is None  # untouched
    plain = _jpeg((64, 64))
    assert encoded_again(plain, conform(plain, 32, 32, "png", 100)) is None
