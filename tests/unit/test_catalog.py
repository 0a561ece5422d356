import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

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
