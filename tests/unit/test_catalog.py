import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from handler.aws.regions import aws_regions
from handler.core.catalog import Catalog, load_catalog
from handler.core.errors import ModelNotFound
from tests.support import ROOT


def _model(**overrides: Any) -> dict[str, Any]:
    model = {
        "id": "m",
        "backend": "preview",
        "description": "test",
        "created": 0,
        "sizes": ["512x512"],
        "default_size": "512x512",
        "max_n": 2,
        "max_prompt_chars": 10,
        "output_formats": ["png"],
        "prices": {"image": {"512x512": 2000}},
    }
    model.update(overrides)
    return model


def test_shipped_catalog_is_valid_and_has_its_default() -> None:
    catalog = load_catalog(ROOT / "infra" / "catalog.json")
    assert catalog.get(None).id == catalog.default_model


@pytest.mark.parametrize(
    "broken",
    [
        {"default_model": "m", "models": [_model(default_size="1024x1024")]},
        {"default_model": "m", "models": [_model(sizes=["big"], default_size="big")]},
        {"default_model": "m", "models": [_model(), _model()]},
        {"default_model": "other", "models": [_model()]},
        {"default_model": "m", "models": [_model(output_formats=["webp"])]},
        {"default_model": "m", "models": [_model(steps={"min": 5, "max": 10, "default": 1})]},
        {"default_model": "m", "models": [_model(backend="gpu-somewhere")]},
        {"default_model": "m", "models": [_model(surprise=1)]},
        # A model without a price for all it offers cannot be served.
        {"default_model": "m", "models": [_model(prices=None)]},
        {"default_model": "m", "models": [_model(sizes=["512x512", "256x256"])]},
        {"default_model": "m", "models": [_model(prices={"image": {"512x512": 0.002}})]},
        {"default_model": "m", "models": [_model(prices={"image": {"512x512": "2000"}})]},
        {"default_model": "m", "models": [_model(prices={"image": {"512x512": -1}})]},
        {"default_model": "m", "models": [_model(max_input_images=1)]},
        {
            "default_model": "m",
            "models": [_model(prices={"image": {"512x512": 1}, "quality": {"hd": {"512x512": 2}}})],
        },
    ],
)
def test_inconsistent_catalogs_are_refused(broken: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(ValidationError):
        load_catalog(path)


def test_unknown_model_is_model_not_found() -> None:
    catalog = Catalog.model_validate({"default_model": "m", "models": [_model()]})
    with pytest.raises(ModelNotFound) as caught:
        catalog.get("dall-e-9")
    assert (caught.value.param, caught.value.code) == ("model", "model_not_found")


def test_shipped_backend_params_are_what_their_backends_take() -> None:
    from handler.backends.bedrock.params import BedrockParams
    from handler.backends.replicate import ReplicateParams
    from handler.backends.sagemaker import SageMakerParams

    takes: dict[str, type[BaseModel]] = {
        "bedrock": BedrockParams,
        "replicate": ReplicateParams,
        "sagemaker": SageMakerParams,
    }
    catalog = load_catalog(ROOT / "infra" / "catalog.json")
    checked = 0
    for model in catalog.models:
        if model.backend in takes:
            takes[model.backend].model_validate(model.backend_params)
            checked += 1
        else:
            assert model.backend_params == {}, model.id
    assert checked >= 3


def test_a_model_past_its_shutdown_date_is_a_410_naming_its_successor(tmp_path: Path) -> None:
    from datetime import date

    from handler.core.errors import ModelShutDown, status_of

    path = tmp_path / "catalog.json"
    retired = _model(id="old", shutdown_date="2026-09-30", successor="m")
    path.write_text(json.dumps({"default_model": "m", "models": [_model(), retired]}))
    catalog = load_catalog(path)
    # Before its date it runs; from its date on it is refused, the successor named
    assert catalog.get("old", today=date(2026, 9, 29)).id == "old"
    with pytest.raises(ModelShutDown) as refused:
        catalog.get("old", today=date(2026, 9, 30))
    assert status_of(refused.value) == 410
    assert (refused.value.param, refused.value.code) == ("model", "model_shut_down")
    assert "'m'" in refused.value.message


def test_aliases_answer_as_their_openai_namesake_and_never_collide(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    sizes = ["256x256", "1024x1024", "1792x1024"]
    model = _model(
        sizes=sizes,
        default_size="256x256",
        max_n=10,
        aliases=["dall-e-3", "house-name"],
        prices={"image": dict.fromkeys(sizes, 1)},
    )
    path.write_text(json.dumps({"default_model": "m", "models": [model]}))
    catalog = load_catalog(path)
    dall_e_3 = catalog.get("dall-e-3")
    assert (dall_e_3.id, dall_e_3.name, dall_e_3.max_n) == ("m", "dall-e-3", 1)
    assert dall_e_3.sizes == ["1024x1024", "1792x1024"]
    assert catalog.get("house-name").sizes == sizes  # not an OpenAI name: the model's rules
    clash = _model(id="n", aliases=["m"])
    path.write_text(json.dumps({"default_model": "m", "models": [_model(), clash]}))
    with pytest.raises(ValidationError):
        load_catalog(path)


def _placed(*placements: dict[str, Any], **fields: Any) -> dict[str, Any]:
    model = {k: v for k, v in _model(**fields).items() if k != "backend"}
    return {"default_model": "m", "models": [{**model, "placements": list(placements)}]}


BEDROCK = {"model_id": "stability.stable-image-core-v1:1", "family": "stability"}
REPLICATE = {"model": "black-forest-labs/flux-schnell", "inputs": "flux"}


@pytest.mark.parametrize(
    ("catalog", "said"),
    [
        (
            _placed({"id": "r", "backend": "replicate", "backend_params": REPLICATE}),
            "placement 'r' has no cost: give cost.per_image, cost.per_second or "
            "cost.per_instance_hour",
        ),
        (
            {"default_model": "m", "models": [_model(backend="replicate")]},
            "placement 'replicate' has no cost",
        ),
        (
            _placed({"id": "r", "backend": "replicate", "cost": {"per_image": 1, "per_second": 1}}),
            "give exactly one of per_image, per_second, per_instance_hour",
        ),
        (
            _placed(
                {"id": "b", "backend": "bedrock", "region": "moon-1", "cost": {"per_image": 1}}
            ),
            "String should match pattern",
        ),
        (
            _placed(
                {
                    "id": "r",
                    "backend": "replicate",
                    "region": "us-west-2",
                    "cost": {"per_second": 1},
                }
            ),
            "region applies to bedrock placements",
        ),
        (_placed(), "List should have at least 1 item"),
        (
            _placed({"id": "p", "backend": "preview"}, {"id": "p", "backend": "preview"}),
            "placement ids must be unique within a model",
        ),
        (
            _placed({"id": "r", "backend": "replicate", "cost": {"per_image": {"1024x1024": 1}}}),
            "placement 'r': cost.per_image omits ['512x512']",
        ),
        (
            {"default_model": "m", "models": [{**_model(), "placements": []}]},
            "give placements, or backend for one, not both",
        ),
    ],
)
def test_placements_without_what_routing_needs_are_refused(
    catalog: dict[str, Any], said: str, tmp_path: Path
) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    with pytest.raises(ValidationError, match=re.escape(said)):
        load_catalog(path)


def test_a_region_aws_does_not_have_is_refused_at_load(tmp_path: Path) -> None:
    bedrock = {"id": "b", "backend": "bedrock", "backend_params": BEDROCK}
    catalog = _placed({**bedrock, "region": "us-west-9", "cost": {"per_image": 1}})
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    with pytest.raises(ValueError, match="placement 'b' names region 'us-west-9', which AWS"):
        load_catalog(path).checked_regions(aws_regions)
    path.write_text(
        json.dumps(_placed({**bedrock, "region": "eu-west-1", "cost": {"per_image": 1}}))
    )
    assert load_catalog(path).checked_regions(aws_regions).get("m").bound.region == "eu-west-1"


def test_preview_costs_nothing_and_one_placement_is_named_after_its_backend() -> None:
    catalog = Catalog.model_validate({"default_model": "m", "models": [_model()]})
    model = catalog.get("m")
    assert (model.bound.id, model.bound.cost.of("512x512", 3, 10.0)) == ("preview", 0)


def test_dropping_placements_drops_models_left_without_one() -> None:
    placements: list[dict[str, Any]] = [
        {"id": "p", "backend": "preview"},
        {"id": "r", "backend": "replicate", "backend_params": REPLICATE, "cost": {"per_image": 1}},
    ]
    catalog = Catalog.model_validate(
        {
            "default_model": "m",
            "models": [_model(), {**_placed(*placements)["models"][0], "id": "two"}],
        }
    )
    served = catalog.serving(lambda placement: placement.backend != "preview")
    assert [m.id for m in served.models] == ["two"]
    assert [p.id for p in served.get("two").placements] == ["r"]
    assert served.default_model is None
