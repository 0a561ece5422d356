import pytest

from handler.core.errors import InvalidRequest
from handler.core.image_decoding import check_inputs, decode, inspect
from handler.core.image_input import MAX_IMAGES, from_data_url, from_request
from handler.core.schemas import GenerationRequest
from tests.image_samples import data_url, noise, picture, png_header_only


def _from(**body: object) -> object:
    return decode(from_request(GenerationRequest.model_validate({"prompt": "x", **body})))


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"image": data_url(picture())[:-10]}, "image", "invalid_value"),  # truncated base64
        ({"imageDataUrl": "data:text/plain;base64,aGVsbG8="}, "imageDataUrl", "invalid_value"),
        ({"image": "https://example.com/cat.png"}, "image", "invalid_value"),
        (
            {"image": data_url(b"\x89PNG\r\n\x1a\nthis is text, not an image")},
            "image",
            "invalid_image",
        ),
        ({"image": data_url(png_header_only(20000, 20000))}, "image", "image_too_large"),
        ({"image": data_url(noise((1300, 1300)))}, "image", "image_too_large"),
        (
            {"image": data_url(picture((64, 64))), "mask": data_url(picture((32, 32)))},
            "mask",
            "invalid_value",
        ),
        (
            {"imageDataUrls": [data_url(picture())] * (MAX_IMAGES + 1)},
            "imageDataUrls",
            "invalid_value",
        ),
        (
            {"image": data_url(picture()), "imageDataUrl": data_url(picture())},
            "imageDataUrl",
            "invalid_value",
        ),
        ({"mask": data_url(picture())}, "mask", "invalid_value"),
        (
            {"imageDataUrls": [data_url(picture()), "data:image/png;base64,%%%"]},
            "imageDataUrls[1]",
            "invalid_value",
        ),
    ],
    ids=[
        "truncated",
        "wrong-prefix",
        "a-link",
        "png-header-on-text",
        "20000x20000",
        "5-mb",
        "mask-of-another-size",
        "17-images",
        "two-sources",
        "mask-alone",
        "second-bad",
    ],
)
def test_bad_inputs_name_their_parameter(body: dict[str, object], param: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _from(**body)
    assert (caught.value.param, caught.value.code) == (param, code)


def test_the_declared_type_is_not_trusted() -> None:
    # a JPEG sent as "image/png" is read as what it is
    [image] = _from(image=data_url(picture(fmt="JPEG"), "png")).images  # type: ignore[attr-defined]
    assert (image.format, image.width) == ("jpeg", 64)


def test_good_inputs_are_described() -> None:
    inputs = _from(
        imageDataUrls=[data_url(picture((40, 30))), data_url(picture(fmt="WEBP"), "webp")],
        maskDataUrl=data_url(picture((40, 30), mode="RGBA", colour=(0, 0, 0, 0))),
    )
    assert [i.format for i in inputs.images] == ["png", "webp"]  # type: ignore[attr-defined]
    assert inputs.mask.has_alpha  # type: ignore[attr-defined]
    assert inputs.image_param == "imageDataUrls"  # type: ignore[attr-defined]


def test_the_request_wide_byte_limit() -> None:
    big = inspect(noise((1100, 1100)), "image")  # ~3.6 MB: fine alone
    with pytest.raises(InvalidRequest, match="a request may carry at most"):
        check_inputs([big, big], None, image_param="image", mask_param="mask")


def test_data_url_must_be_text() -> None:
    with pytest.raises(InvalidRequest):
        from_data_url(42, "image")


def test_a_camera_mpo_jpeg_is_a_jpeg() -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    first = Image.new("RGB", (32, 32), (1, 2, 3))
    first.save(buffer, format="MPO", save_all=True, append_images=[first])
    assert inspect(buffer.getvalue(), "image").format == "jpeg"


def test_our_pixel_limit_applies_below_pillows_own() -> None:
    with pytest.raises(InvalidRequest) as caught:
        inspect(png_header_only(5000, 5000), "image")  # 25 Mpx: Pillow alone would decode it
    assert caught.value.code == "image_too_large"


def test_base64_broken_over_lines_is_fine() -> None:
    url = data_url(picture())
    head, body = url.split(",", 1)
    wrapped = head + "," + "\n".join(body[i : i + 76] for i in range(0, len(body), 76))
    assert from_data_url(wrapped, "image") == from_data_url(url, "image")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"imageDataUrls": [data_url(picture())] * (MAX_IMAGES + 1)}, "too many"),
        ({"model": "flux-schnell", "image": [data_url(picture())] * 3}, "model takes none"),
        ({"prompt": " ", "image": data_url(picture())}, "empty prompt"),
        ({"size": "1x1", "image": data_url(picture())}, "bad size"),
    ],
)
def test_images_are_not_decoded_when_a_cheaper_check_fails(
    monkeypatch: pytest.MonkeyPatch, body: dict[str, object], reason: str
) -> None:
    from handler.core import image_decoding
    from handler.core.catalog import load_catalog
    from handler.core.spec_rules import build_spec
    from tests.support import ROOT

    def no_decoding(*args: object) -> None:
        raise AssertionError(f"decoded although {reason}")

    monkeypatch.setattr(image_decoding, "inspect", no_decoding)
    request = GenerationRequest.model_validate({"prompt": "x", **body})
    model = load_catalog(ROOT / "infra" / "catalog.json").get(request.model)
    with pytest.raises(InvalidRequest):
        build_spec(model, request, "req", from_request(request))
