from typing import Any

import pytest

from handler.backends.preview import PreviewBackend
from handler.core.catalog import load_catalog
from handler.core.deadline import Deadline
from handler.core.spec import GenerationSpec
from tests.support import FORMATS, ROOT, open_image

MODEL = load_catalog(ROOT / "infra" / "catalog.json").get(None)
FOREVER = Deadline.after(3600)


def _job(**overrides: Any) -> GenerationSpec:
    fields: dict[str, Any] = {
        "request_id": "req_1",
        "model": MODEL,
        "prompt": "a lighthouse",
        "negative_prompt": None,
        "width": 256,
        "height": 256,
        "seeds": (1,),
        "steps": 4,
        "guidance_scale": 3.5,
        "output_format": "png",
        "output_compression": 100,
        "background": "auto",
        "quality": "auto",
    }
    fields.update(overrides)
    return GenerationSpec(**fields)


@pytest.mark.parametrize("output_format", ["png", "jpeg", "webp"])
@pytest.mark.parametrize(("width", "height"), [(256, 256), (1536, 1024), (1024, 1792)])
def test_exact_size_and_format(output_format: str, width: int, height: int) -> None:
    [image] = PreviewBackend().generate(
        _job(width=width, height=height, output_format=output_format), FOREVER
    )
    decoded = open_image(image.data)
    assert decoded.size == (width, height) == (image.width, image.height)
    assert decoded.format == FORMATS[output_format]


def test_same_prompt_and_seed_give_the_same_bytes() -> None:
    first = PreviewBackend().generate(_job(seeds=(5, 6)), FOREVER)
    again = PreviewBackend().generate(_job(seeds=(5, 6)), FOREVER)
    assert [i.data for i in first] == [i.data for i in again]
    assert [i.seed for i in first] == [5, 6]
    assert first[0].data != first[1].data


@pytest.mark.parametrize(
    "change", [{"seeds": (2,)}, {"prompt": "a lighthouse."}, {"negative_prompt": "fog"}]
)
def test_each_input_changes_the_picture(change: dict[str, Any]) -> None:
    [base] = PreviewBackend().generate(_job(), FOREVER)
    [changed] = PreviewBackend().generate(_job(**change), FOREVER)
    assert base.data != changed.data


def test_opaque_pictures_have_no_alpha_channel() -> None:
    [image] = PreviewBackend().generate(_job(background="opaque"), FOREVER)
    assert open_image(image.data).mode == "RGB"


def test_transparent_background_keeps_alpha() -> None:
    [image] = PreviewBackend().generate(
        _job(background="transparent", output_format="png"), FOREVER
    )
    decoded = open_image(image.data)
    assert decoded.mode == "RGBA"
    alpha = decoded.getchannel("A")
    assert alpha.getextrema()[0] == 0  # some pixels are see-through


def test_compression_shrinks_jpeg() -> None:
    [fine] = PreviewBackend().generate(_job(output_format="jpeg", output_compression=100), FOREVER)
    [coarse] = PreviewBackend().generate(_job(output_format="jpeg", output_compression=10), FOREVER)
    assert len(coarse.data) < len(fine.data)
