"""Price before work, in the deployed shape: HTTP → the local API Gateway → the API functions
on the local stack. A quote holds its price through a catalog change; ``max_cost`` refuses a
dearer request before anything is reserved; a quote holds only for its key, its terms, its
five minutes and one generation; and a body the generation would refuse is refused alike."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from handler import container
from handler.config import get_settings
from handler.core.errors import StorageError
from handler.core.image_input import data_url
from handler.money.paid import PaidGeneration
from handler.money.quotes import QUOTE_SECONDS, Quotes
from handler.money.stored.quotes import DynamoDBQuotes
from tests.image_samples import picture
from tests.integration.conftest import Local
from tests.integration.test_streaming import events
from tests.support import ROOT, assert_error, signed

TEN = 10_000_000  # 10.00 in micro-units
PRICE = 1_000  # the shipped catalog's price of one 512x512 preview image
DEARER = 3_000  # the price once the operator raises it
EDIT_PRICE = 2_000  # the shipped catalog's price of one 512x512 preview edit
BODY = {"prompt": "a fox", "size": "512x512", "n": 2, "response_format": "b64_json"}


@dataclass
class Api:
    origin: str

    def key(self, name: str = "quotes") -> tuple[str, dict[str, str]]:
        created = signed("POST", f"{self.origin}/admin/v1/keys", {"name": name, "balance": TEN})
        assert created.status_code == 200, created.text
        return created.json()["key"]["id"], {"Authorization": f"Bearer {created.json()['api_key']}"}

    def post(self, path: str, auth: dict[str, str], body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.origin}/v1{path}", headers=auth, json=body, timeout=60)

    def quote(self, auth: dict[str, str], **changes: Any) -> dict[str, Any]:
        quoted = self.post("/images/quotes", auth, {**BODY, **changes})
        assert quoted.status_code == 200, quoted.text
        answer: dict[str, Any] = quoted.json()
        return answer

    def generate(self, auth: dict[str, str], **changes: Any) -> httpx.Response:
        return self.post("/images/generations", auth, {**BODY, **changes})

    def money(self, key_id: str) -> tuple[int, list[tuple[str, int]]]:
        """The key's balance and its ledger, newest first, as the operator sees them."""
        shown = signed("GET", f"{self.origin}/admin/v1/keys/{key_id}")
        ledger = signed("GET", f"{self.origin}/admin/v1/keys/{key_id}/transactions", None)
        entries = [(t["type"], t["amount"]) for t in ledger.json()["data"]]
        return shown.json()["balance"], entries


@pytest.fixture
def api(origin: str) -> Api:
    return Api(origin)


def _raise_prices(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator raises the preview's 512x512 price to ``DEARER`` (every instance reads
    the new catalog)."""
    catalog = json.loads((ROOT / "infra" / "catalog.json").read_text())
    [preview] = [model for model in catalog["models"] if model["id"] == "imagegate-preview"]
    preview["prices"]["image"]["512x512"] = DEARER
    path = folder / "catalog.json"
    path.write_text(json.dumps(catalog))
    monkeypatch.setenv("IMAGEGATE_CATALOG_FILE", str(path))
    container.reset()


def _judged_at(at: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every instance from now on judges quotes as if it were ``at`` (unix seconds)."""
    settings = get_settings()
    store = DynamoDBQuotes(settings.idempotency_table)
    quotes = Quotes(store, settings.card_currency, clock=lambda: at)
    monkeypatch.setattr(container, "paid", lambda: PaidGeneration(container.charging(), quotes))
    container.reset()


def test_a_quoted_generation_pays_the_quoted_price_after_the_catalog_changes(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id, auth = api.key()
    # Given a quote of two 512x512 images at the catalog's price
    quote = api.quote(auth)
    assert quote["id"].startswith("quote_")
    assert {k: quote[k] for k in ("object", "model", "size", "n", "currency")} == {
        "object": "image.quote",
        "model": "imagegate-preview",
        "size": "512x512",
        "n": 2,
        "currency": "usd",
    }
    assert (quote["unit_price"], quote["amount"]) == (PRICE, 2 * PRICE)
    assert quote["expires_at"] - quote["created"] == QUOTE_SECONDS
    # and nothing paid for it
    assert api.money(key_id) == (TEN, [("topup", TEN)])
    # When the operator raises the price, and the quoted request comes
    _raise_prices(tmp_path, monkeypatch)
    response = api.generate(auth, quote_id=quote["id"], prompt="another fox, same price")
    # Then it is charged what was quoted
    assert response.status_code == 200, response.text
    assert response.json()["cost"] == 2 * PRICE
    assert api.money(key_id) == (TEN - 2 * PRICE, [("charge", -2 * PRICE), ("topup", TEN)])
    # while a request without a quote pays the new price
    assert api.generate(auth).json()["cost"] == 2 * DEARER
    # and the quote has paid for its one generation
    again = api.generate(auth, quote_id=quote["id"])
    assert again.status_code == 400
    assert_error(again.json(), type_="invalid_request_error", param="quote_id", code="quote_used")


def test_a_stream_with_a_quote_pays_the_quoted_price(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id, auth = api.key()
    quote = api.quote(auth, stream=True, response_format=None, n=1)
    _raise_prices(tmp_path, monkeypatch)
    # When the quoted request streams
    response = api.generate(auth, stream=True, response_format=None, n=1, quote_id=quote["id"])
    # Then its completed event says, and the ledger shows, the quoted price
    assert response.status_code == 200, response.text
    completed = events(response.text)[-1]
    assert (completed[0], completed[1]["cost"]) == ("image_generation.completed", PRICE)
    assert api.money(key_id) == (TEN - PRICE, [("charge", -PRICE), ("topup", TEN)])


@pytest.mark.parametrize(
    "changes",
    [{}, {"stream": True, "response_format": None}],
    ids=["buffered", "streamed"],
)
def test_a_request_dearer_than_its_max_cost_reserves_nothing(
    api: Api, changes: dict[str, Any]
) -> None:
    key_id, auth = api.key()
    # When a request of two images at 0.001 each says it may cost at most 0.001999
    response = api.generate(auth, max_cost=2 * PRICE - 1, **changes)
    # Then it is a 402 naming both amounts, in the deployment's currency
    assert response.status_code == 402, response.text
    assert_error(
        response.json(), type_="insufficient_quota", param="max_cost", code="max_cost_exceeded"
    )
    message = response.json()["error"]["message"]
    assert "costs 0.002 USD" in message
    assert "max_cost of 0.001999 USD" in message
    # and nothing was reserved: no charge, no refund, the balance untouched
    assert api.money(key_id) == (TEN, [("topup", TEN)])
    # while one it covers (an amount given either way) runs and pays its price
    covered = api.generate(auth, max_cost="0.002", **changes)
    assert covered.status_code == 200, covered.text
    assert api.money(key_id)[0] == TEN - 2 * PRICE


def test_a_quote_over_its_max_cost_is_refused_too(api: Api) -> None:
    _, auth = api.key()
    response = api.post("/images/quotes", auth, {**BODY, "max_cost": 2 * PRICE - 1})
    assert response.status_code == 402, response.text
    assert_error(
        response.json(), type_="insufficient_quota", param="max_cost", code="max_cost_exceeded"
    )


def test_a_quote_holds_only_for_its_terms_and_its_key(api: Api) -> None:
    key_id, auth = api.key()
    quote = api.quote(auth)
    # When the request differs from what was quoted in what prices it
    differing: list[tuple[dict[str, Any], str]] = [
        ({"n": 1}, "n"),
        ({"size": "1024x1024"}, "size"),
        ({"quality": "high"}, "quality"),
        ({"steps": 8}, "steps"),
    ]
    for changes, param in differing:
        response = api.generate(auth, quote_id=quote["id"], **changes)
        # Then it is refused, naming the parameter
        assert response.status_code == 400, response.text
        assert_error(
            response.json(), type_="invalid_request_error", param=param, code="quote_mismatch"
        )
    # When another key sends it, or an id no quote has
    _, other = api.key("another")
    for sender, quote_id in [(other, quote["id"]), (auth, "quote_" + "0" * 24), (auth, "q")]:
        response = api.generate(sender, quote_id=quote_id)
        # Then it is unknown to them
        assert response.status_code == 400, response.text
        assert_error(
            response.json(), type_="invalid_request_error", param="quote_id", code="quote_not_found"
        )
    # and none of this cost anything, nor used the quote up
    assert api.money(key_id) == (TEN, [("topup", TEN)])
    assert (
        api.generate(auth, quote_id=quote["id"], prompt="what it draws is free").json()["cost"]
        == 2 * PRICE
    )


def test_a_quote_expires_after_five_minutes(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    key_id, auth = api.key()
    # Given two quotes made now
    timely, late = api.quote(auth), api.quote(auth)
    # When a request sends one a second before five minutes have passed, it is held
    _judged_at(timely["created"] + QUOTE_SECONDS - 1, monkeypatch)
    assert api.generate(auth, quote_id=timely["id"]).status_code == 200
    # but once they have passed, the other has expired
    _judged_at(late["created"] + QUOTE_SECONDS, monkeypatch)
    response = api.generate(auth, quote_id=late["id"])
    assert response.status_code == 400, response.text
    assert_error(
        response.json(), type_="invalid_request_error", param="quote_id", code="quote_expired"
    )
    assert api.money(key_id) == (TEN - 2 * PRICE, [("charge", -2 * PRICE), ("topup", TEN)])


def test_a_quoted_generation_that_delivers_nothing_gives_its_quote_back(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id, auth = api.key()
    quote = api.quote(auth, response_format="url")

    # Given an image store that fails once the images exist
    def failing_put(*args: object, **kwargs: object) -> None:
        raise StorageError("S3 is down")

    with monkeypatch.context() as failing:
        failing.setattr(container.image_store(), "put_images", failing_put)
        response = api.generate(auth, response_format="url", quote_id=quote["id"])
    # When the quoted request fails, it is refunded in full
    assert response.status_code == 500, response.text
    assert api.money(key_id) == (TEN, [("refund", 0), ("topup", TEN)])
    # Then its retry can use the quote still
    retried = api.generate(auth, response_format="url", quote_id=quote["id"])
    assert retried.status_code == 200, retried.text
    assert retried.json()["cost"] == 2 * PRICE


def test_edits_and_variations_take_the_terms_as_form_fields(api: Api) -> None:
    key_id, auth = api.key()
    image = picture((512, 512))
    files = {"image": ("otter.png", image, "image/png")}
    # Given a quote of an edit: its JSON body, the image as a data URL
    quote = api.quote(auth, prompt="an otter", n=1, image=data_url(image))
    assert quote["unit_price"] == EDIT_PRICE
    # When the edit comes as a form with the quote and a max_cost in units
    fields = {"prompt": "an otter", "size": "512x512", "quote_id": quote["id"]}
    edited = httpx.post(
        f"{api.origin}/v1/images/edits",
        headers=auth,
        files=files,
        data={**fields, "max_cost": "0.002"},
        timeout=60,
    )
    # Then it is charged the quote
    assert edited.status_code == 200, edited.text
    assert edited.json()["cost"] == EDIT_PRICE
    # and a variation whose max_cost (in micro-units) is below its price is refused
    varied = httpx.post(
        f"{api.origin}/v1/images/variations",
        headers=auth,
        files=files,
        data={"size": "512x512", "max_cost": str(EDIT_PRICE - 1)},
        timeout=60,
    )
    assert varied.status_code == 402, varied.text
    assert varied.json()["error"]["code"] == "max_cost_exceeded"
    assert api.money(key_id) == (TEN - EDIT_PRICE, [("charge", -EDIT_PRICE), ("topup", TEN)])


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "a fox", "size": "13x7"},
        {"prompt": "a fox", "n": 0},
        {"prompt": "a fox", "n": "2"},
        {"prompt": ""},
        {"prompt": "a fox", "sizee": "512x512"},
        {"prompt": "a fox", "model": "no-such-model"},
        {"prompt": "a fox", "output_format": "jpeg", "background": "transparent"},
        {"prompt": "a fox", "max_cost": -1},
        {"prompt": "a fox", "max_cost": 1.5},
        {"size": "512x512"},
    ],
    ids=lambda body: json.dumps(body),
)
def test_a_body_the_generation_refuses_is_refused_alike_as_a_quote(
    api: Api, body: dict[str, Any]
) -> None:
    _, auth = api.key()
    refused = api.post("/images/generations", auth, body)
    quoted = api.post("/images/quotes", auth, body)
    assert refused.status_code in (400, 404), refused.text
    assert (quoted.status_code, quoted.json()) == (refused.status_code, refused.json())


def test_a_quote_needs_a_key(api: Api) -> None:
    response = api.post("/images/quotes", {"Authorization": "Bearer ig_nope"}, BODY)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_an_async_job_keeps_to_its_quote_and_its_max_cost(
    api: Api, local: Local, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id, auth = api.key()
    quote = api.quote(auth, **{"async": True})
    _raise_prices(tmp_path, monkeypatch)
    # When one job sends the quote, and another a max_cost below the new price
    quoted = api.generate(auth, quote_id=quote["id"], **{"async": True})
    capped = api.generate(auth, max_cost=2 * DEARER - 1, **{"async": True})
    assert (quoted.status_code, capped.status_code) == (202, 202), quoted.text + capped.text
    local.wait()
    # Then the first was charged the quoted price, and the second refused, reserving nothing
    done = httpx.get(f"{api.origin}/v1/images/jobs/{quoted.json()['id']}", headers=auth).json()
    assert (done["status"], done["cost"]) == ("succeeded", 2 * PRICE)
    failed = httpx.get(f"{api.origin}/v1/images/jobs/{capped.json()['id']}", headers=auth).json()
    assert (failed["status"], failed["status_code"]) == ("failed", 402)
    assert failed["error"]["code"] == "max_cost_exceeded"
    assert api.money(key_id) == (TEN - 2 * PRICE, [("charge", -2 * PRICE), ("topup", TEN)])
