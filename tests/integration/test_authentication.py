import pytest
from fastapi.testclient import TestClient

from handler import accounts_container, generation_container
from handler.core.keys import generate_key
from tests.support import assert_error

URL = "/v1/images/generations"
BODY = {"prompt": "a fox", "size": "256x256"}


def _unknown_key() -> str:
    return generate_key().plaintext


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer sk-proj-1234"},
        {"Authorization": "Bearer ig_nothex0000000000_" + "a" * 43},
    ],
    ids=["missing", "empty", "basic", "empty-bearer", "foreign-format", "malformed"],
)
def test_missing_or_malformed_key_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(URL, headers=headers, json=BODY)
    assert response.status_code == 401
    assert_error(response.json(), type_="authentication_error", param=None, code="invalid_api_key")


def test_unknown_key_is_401(client: TestClient) -> None:
    response = client.post(URL, headers={"Authorization": f"Bearer {_unknown_key()}"}, json=BODY)
    assert response.status_code == 401
    assert_error(response.json(), type_="authentication_error", param=None, code="invalid_api_key")


def test_right_id_wrong_secret_reads_like_an_unknown_key(client: TestClient, api_key: str) -> None:
    forged = api_key[: -len("abc")] + ("abc" if not api_key.endswith("abc") else "xyz")
    unknown = client.post(URL, headers={"Authorization": f"Bearer {_unknown_key()}"}, json=BODY)
    wrong = client.post(URL, headers={"Authorization": f"Bearer {forged}"}, json=BODY)
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_revoked_key_is_401_on_its_next_request(client: TestClient, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    assert client.post(URL, headers=headers, json=BODY).status_code == 200
    accounts_container.key_admin().revoke("test", api_key.split("_")[1])
    response = client.post(URL, headers=headers, json=BODY)
    assert response.status_code == 401
    assert_error(response.json(), type_="authentication_error", param=None, code="invalid_api_key")
    assert "revoked" in response.json()["error"]["message"]


def test_models_need_a_key_too(client: TestClient) -> None:
    assert client.get("/v1/models").status_code == 401


def test_models_list_the_catalog_in_openai_shape(client: TestClient, auth: dict[str, str]) -> None:
    listing = client.get("/v1/models", headers=auth).json()
    assert listing["object"] == "list"
    offered = generation_container.offering().models()
    assert [model["id"] for model in listing["data"]] == [m.name for m in offered]
    for model in listing["data"]:
        assert model["object"] == "model"
        assert not {"backend", "backend_params", "placements", "routing", "cost"} & set(model)
        # What a client needs to build and budget a request
        assert {"sizes", "max_n", "steps", "output_formats", "prices"} <= set(model)
        assert set(model["prices"]["image"]) == set(model["sizes"])
        assert all(isinstance(price, int) for price in model["prices"]["image"].values())
        one = client.get(f"/v1/models/{model['id']}", headers=auth)
        assert one.json() == model
    missing = client.get("/v1/models/nope", headers=auth)
    assert missing.status_code == 404
    assert_error(missing.json(), type_="not_found_error", param="model", code="model_not_found")
