from typing import Any

import pytest

from handler.core.catalog import Catalog
from handler.core.errors import InvalidRequest
from handler.core.model_card import MAX_SEED
from handler.core.schemas import GenerationRequest
from handler.core.spec_rules import build_spec

CATALOG = Catalog.model_validate(
    {
        "default_model": "full",
        "models": [
            {
                "id": "full",
                "backend": "preview",
                "description": "every option",
                "created": 0,
                "sizes": ["256x256", "1024x1024", "1536x1024"],
                "default_size": "1024x1024",
                "max_n": 4,
                "max_prompt_chars": 50,
                "max_negative_prompt_chars": 20,
                "steps": {"min": 1, "max": 30, "default": 4},
                "guidance_scale": {"min": 0, "max": 10, "default": 3.5},
                "output_formats": ["png", "jpeg", "webp"],
                "backgrounds": ["auto", "opaque", "transparent"],
                "prices": {"image": {"256x256": 1, "1024x1024": 1, "1536x1024": 1}},
            },
            {
                "id": "bare",
                "backend": "preview",
                "description": "no options",
                "created": 0,
                "sizes": ["512x512"],
                "default_size": "512x512",
                "max_n": 1,
                "max_prompt_chars": 50,
                "seed": False,
                "output_formats": ["png"],
                "prices": {"image": {"512x512": 1}},
            },
        ],
    }
)


def _job(**body: Any) -> Any:
    request = GenerationRequest.model_validate({"prompt": "a red fox", **body})
    return build_spec(CATALOG.get(request.model), request, "req_1")


def test_defaults_are_resolved_from_the_model() -> None:
    job = _job()
    assert (job.width, job.height, job.n) == (1024, 1024, 1)
    assert (job.steps, job.guidance_scale) == (4, 3.5)
    assert (job.output_format, job.output_compression, job.background) == ("png", 100, "opaque")
    assert 0 <= job.seeds[0] <= MAX_SEED


def test_explicit_values_pass_through() -> None:
    job = _job(
        size="1536x1024",
        n=3,
        seed=MAX_SEED - 1,
        num_inference_steps=20,
        guidance_scale=7,
        output_format="webp",
        output_compression=60,
        negative_prompt="blur",
    )
    assert (job.width, job.height) == (1536, 1024)
    assert job.seeds == (MAX_SEED - 1, MAX_SEED, 0)  # seed + i, wrapping at 2**32
    assert (job.steps, job.guidance_scale, job.output_compression) == (20, 7.0, 60)
    assert job.negative_prompt == "blur"


def test_auto_size_is_the_model_default() -> None:
    assert (_job(size="auto").width, _job(model="bare", size=None).width) == (1024, 512)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": " \n\t"}, "prompt"),
        ({"prompt": "x" * 51}, "prompt"),
        ({"n": 5}, "n"),
        ({"size": "512x512"}, "size"),
        ({"size": "1024"}, "size"),
        ({"size": "1024x1024x3"}, "size"),
        ({"steps": 31}, "steps"),
        ({"num_inference_steps": 31}, "num_inference_steps"),
        ({"steps": 5, "num_inference_steps": 6}, "num_inference_steps"),
        ({"guidance_scale": 10.5}, "guidance_scale"),
        ({"negative_prompt": "x" * 21}, "negative_prompt"),
        ({"output_compression": 50}, "output_compression"),  # png has no compression level
        ({"background": "transparent", "output_format": "jpeg"}, "background"),
        ({"quality": "hd"}, "quality"),
        ({"style": "vivid"}, "style"),
        ({"model": "bare", "seed": 1}, "seed"),
        ({"model": "bare", "steps": 2}, "steps"),
        ({"model": "bare", "guidance_scale": 2}, "guidance_scale"),
        ({"model": "bare", "negative_prompt": "x"}, "negative_prompt"),
        ({"model": "bare", "output_format": "webp"}, "output_format"),
        ({"model": "bare", "background": "transparent"}, "background"),
        ({"partial_images": 2}, "partial_images"),
    ],
)
def test_what_the_model_cannot_honour_is_a_400_naming_the_parameter(
    body: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _job(**body)
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"


def test_harmless_defaults_are_accepted_everywhere() -> None:
    job = _job(
        model="bare",
        quality="auto",
        background="auto",
        output_format="png",
        output_compression=100,
        moderation="auto",
        user="u-1",
        response_format="url",
        stream=False,
        partial_images=0,
    )
    assert job.width == 512
