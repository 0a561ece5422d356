"""GET /v1/models lists what this deployment can run now: the preview stand-in only where it
is asked for, Replicate models while a token is configured, SageMaker models while their
endpoint is in service. A catalog model not offered is refused alike on every route, with
its backend's reason, before anything is charged or recorded."""

import boto3
import pytest
from fastapi.testclient import TestClient

from handler import container
from tests.image_samples import picture as image_file
from tests.support import ROOT, assert_error, endpoint_in_service

PREVIEW = "imagegate-preview"


def _listed(client: TestClient, auth: dict[str, str]) -> list[str]:
    response = client.get("/v1/models", headers=auth)
    assert response.status_code == 200
    return [model["id"] for model in response.json()["data"]]


def _backend_models(backend: str) -> list[str]:
    return [model.id for model in container.catalog().models if model.backend == backend]


def test_models_without_a_token_or_an_endpoint_are_not_listed(
    client: TestClient, auth: dict[str, str]
) -> None:
    # Given the catalog's Replicate and SageMaker models, with neither configured
    assert _backend_models("replicate")
    assert _backend_models("sagemaker")
    # Then only the stand-in is listed, under its own name and the OpenAI names it answers to
    stand_in = container.catalog().get(PREVIEW)
    assert _listed(client, auth) == [PREVIEW, *stand_in.aliases]
    # And one of them is refused alike by every route, with its reason, before any charge
    hidden = _backend_models("sagemaker")[0]
    balance = client.get("/v1/usage", headers=auth).json()["balance"]
    form = {"model": hidden, "prompt": "a fox"}
    picture = {"image": ("in.png", image_file(), "image/png")}
    answers = [
        client.get(f"/v1/models/{hidden}", headers=auth),
        client.post("/v1/images/generations", headers=auth, json=form),
        client.post("/v1/images/generations", headers=auth, json={**form, "stream": True}),
        client.post("/v1/images/edits", headers=auth, data=form, files=picture),
        client.post("/v1/images/variations", headers=auth, data={"model": hidden}, files=picture),
    ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert_error(answer.json(), type_="server_error", param=None, code="backend_not_configured")
        assert "not in service" in answer.json()["error"]["message"]
    assert client.get("/v1/usage", headers=auth).json()["balance"] == balance
    assert client.get("/v1/usage/requests", headers=auth).json()["data"] == []


def test_replicate_models_are_listed_once_a_token_is_configured(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEGATE_REPLICATE_API_TOKEN", "r8_test")
    container.reset()
    assert set(_backend_models("replicate")) <= set(_listed(client, auth))


def test_a_sagemaker_model_is_listed_while_its_endpoint_is_in_service(
    client: TestClient, auth: dict[str, str]
) -> None:
    [model, *_] = [m for m in container.catalog().models if m.backend == "sagemaker"]
    name = model.backend_params["endpoint_name"]
    endpoint_in_service(name)
    sagemaker = boto3.client("sagemaker")
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    assert model.id in _listed(client, auth)
    assert client.get(f"/v1/models/{model.id}", headers=auth).status_code == 200


def test_a_deployed_stack_does_not_sell_the_stand_in(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the template's default, ServePreview "false"
    monkeypatch.setenv("IMAGEGATE_SERVE_PREVIEW", "false")
    container.reset()
    # Then the stand-in is neither listed nor served, and nothing is the default model
    assert PREVIEW not in _listed(client, auth)
    named = client.post(
        "/v1/images/generations", headers=auth, json={"prompt": "a", "model": PREVIEW}
    )
    assert named.status_code == 404
    assert named.json()["error"]["code"] == "model_not_found"
    unnamed = client.post("/v1/images/generations", headers=auth, json={"prompt": "a"})
    assert unnamed.status_code == 400
    assert_error(
        unnamed.json(),
        type_="invalid_request_error",
        param="model",
        code="missing_required_parameter",
    )


def test_the_template_does_not_serve_the_stand_in_unless_asked() -> None:
    from handler.cli.template import Template

    template = Template.load(ROOT / "template.yaml")
    parameter = template.body["Parameters"]["ServePreview"]
    assert parameter["Default"] == "false"
    env = template.body["Globals"]["Function"]["Environment"]["Variables"]
    assert env["IMAGEGATE_SERVE_PREVIEW"] == {"Ref": "ServePreview"}
