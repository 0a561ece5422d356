"""A kept generation names its images by object key, in a type of its own; results and
records written before that type (the key in ``url``) still read."""

from handler.core.records.work import LineResult
from handler.core.schemas import ImagesResponse, StoredImages
from handler.work.views import render_output

KEPT = {
    "id": "req_1",
    "created": 1,
    "model": "imagegate-preview",
    "size": "256x256",
    "quality": "auto",
    "background": "auto",
    "output_format": "png",
    "usage": {"images": 1},
}


def test_a_record_written_with_the_key_in_url_reads_as_stored_images() -> None:
    legacy = StoredImages.model_validate({**KEPT, "data": [{"url": "images/k.png", "seed": 3}]})
    current = StoredImages.model_validate({**KEPT, "data": [{"s3_key": "images/k.png", "seed": 3}]})
    assert legacy == current
    assert current.model_dump(exclude_none=True)["data"] == [{"s3_key": "images/k.png", "seed": 3}]


def test_the_public_response_has_no_key_field() -> None:
    assert "s3_key" not in ImagesResponse.model_json_schema()["$defs"]["ImageData"]["properties"]


def test_batch_output_renders_both_shapes_alike() -> None:
    lines = [
        LineResult("batch_1", index, "c", 200, {**KEPT, "data": [{key: "images/k.png"}]})
        for index, key in enumerate(("url", "s3_key"))
    ]
    first, second = render_output(lines).splitlines()
    assert first.replace("batch_1-0", "batch_1-1") == second
    assert '"s3_key":"images/k.png"' in first
