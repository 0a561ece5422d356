"""Moderation in the deployed shape: HTTP → the local API Gateway → the API function on the
local stack, the operator's guardrail played by the ``ApplyGuardrail`` stand-in through boto3,
reading what the preview backend's images say they show. A blocked prompt costs nothing and is
kept with its verdict; a blocked image is withheld and not charged; a stream ends with the
policy error; an account is suspended after the operator's number of blocked requests."""

import base64
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image, PngImagePlugin

from handler import container
from tests.fakes.bedrock_runtime import FakeBedrock
from tests.integration.conftest import Local
from tests.support import balance_of, new_key, signed, usage_of

URL = "/v1/images/generations"
TEN = 10_000_000
MODEL = "imagegate-preview"


@dataclass
class Moderated:
    origin: str
    guardrail: FakeBedrock

    def key(self) -> tuple[str, dict[str, str]]:
        body = {"name": "moderated", "balance": TEN}
        created = signed("POST", f"{self.origin}/admin/v1/keys", body)
        assert created.status_code == 200, created.text
        return created.json()["key"]["id"], {"Authorization": f"Bearer {created.json()['api_key']}"}

    def post(self, auth: dict[str, str], path: str = URL, **body: Any) -> httpx.Response:
        body = {"model": MODEL, "size": "256x256", "response_format": "b64_json", **body}
        return httpx.post(f"{self.origin}{path}", headers=auth, json=body, timeout=60)

    def money(self, key_id: str) -> tuple[int, list[tuple[str, int]]]:
        shown = signed("GET", f"{self.origin}/admin/v1/keys/{key_id}")
        ledger = signed("GET", f"{self.origin}/admin/v1/keys/{key_id}/transactions", None)
        return shown.json()["balance"], [(t["type"], t["amount"]) for t in ledger.json()["data"]]

    def requests(self, auth: dict[str, str]) -> list[dict[str, Any]]:
        shown = httpx.get(f"{self.origin}/v1/usage/requests", headers=auth, timeout=30)
        assert shown.status_code == 200, shown.text
        return list(shown.json()["data"])


@pytest.fixture
def moderated(origin: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Moderated]:
    with FakeBedrock() as guardrail:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", guardrail.endpoint_url)
        monkeypatch.setenv("IMAGEGATE_GUARDRAIL_ID", "abcdef123456")
        monkeypatch.setenv("IMAGEGATE_GUARDRAIL_VERSION", "1")
        container.reset()
        yield Moderated(origin, guardrail)
    container.reset()


def test_a_blocked_prompt_is_refused_before_any_money_moves(moderated: Moderated) -> None:
    key_id, auth = moderated.key()
    # When a prompt the guardrail blocks comes
    response = moderated.post(auth, prompt="a fight [unsafe]")
    # Then it is OpenAI's 400, naming what it was
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "content_policy_violation",
        "prompt",
    )
    assert "violence" in error["message"]
    # and nothing was reserved or charged: no ledger entry at all
    assert moderated.money(key_id) == (TEN, [("topup", TEN)])
    # but the request and its verdict are in the key's request list, at no cost
    (shown,) = moderated.requests(auth)
    assert (shown["status"], shown["cost"], shown["images"]) == ("failed", 0, 0)
    assert shown["error_code"] == "content_policy_violation"
    assert shown["moderation"] == [
        {
            "subject": "prompt",
            "action": "blocked",
            "category": "violence",
            "confidence": "high",
            "index": None,
        }
    ]
    # and the operator sees the same, key by key
    operator = signed("GET", f"{moderated.origin}/admin/v1/keys/{key_id}/requests").json()
    assert [r["moderation"] for r in operator["data"]] == [shown["moderation"]]
    # and the guardrail saw the prompt as input, once
    (call,) = moderated.guardrail.guardrail_calls
    assert call["path"] == "/guardrail/abcdef123456/version/1/apply"
    assert call["body"]["source"] == "INPUT"
    assert call["body"]["outputScope"] == "FULL"


def test_one_of_two_images_blocked_the_other_delivered_and_charged(
    moderated: Moderated,
) -> None:
    key_id, auth = moderated.key()
    # Given seeds 7 and 8: the guardrail blocks the image of the odd one
    response = moderated.post(auth, prompt="a fox [unsafe-odd]", n=2, seed=7)
    assert response.status_code == 200, response.text
    answer = response.json()
    # Then one image comes, the even seed's, and only it is charged
    assert len(answer["data"]) == 1
    (image,) = answer["data"]
    assert (
        Image.open(io.BytesIO(base64.b64decode(image["b64_json"])))
        .info["Description"]
        .endswith("seed 8")
    )
    unit = answer["cost"]
    assert moderated.money(key_id) == (TEN - unit, [("charge", -unit), ("topup", TEN)])
    # and the request's verdicts say which was withheld and why
    (shown,) = moderated.requests(auth)
    assert (shown["n"], shown["images"], shown["status"]) == (2, 1, "partial")
    outputs = {v["index"]: v["action"] for v in shown["moderation"] if v["subject"] == "output"}
    assert outputs == {0: "blocked", 1: "allowed"}
    # the two images were checked as outputs, each on its own
    sources = [call["body"]["source"] for call in moderated.guardrail.guardrail_calls]
    assert sorted(sources) == ["INPUT", "OUTPUT", "OUTPUT"]


def test_an_edit_whose_input_image_is_blocked_is_refused(moderated: Moderated) -> None:
    key_id, auth = moderated.key()
    described = PngImagePlugin.PngInfo()
    described.add_text("Description", "[unsafe-image]")
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 40, 40)).save(buffer, format="PNG", pnginfo=described)
    image = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    response = moderated.post(auth, "/v1/images/edits", prompt="make it blue", image=image)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "content_policy_violation"
    assert "sexual" in response.json()["error"]["message"]
    assert moderated.money(key_id) == (TEN, [("topup", TEN)])
    (call,) = moderated.guardrail.guardrail_calls
    assert [next(iter(block)) for block in call["body"]["content"]] == ["text", "image"]


def test_a_stream_whose_image_is_blocked_ends_with_the_policy_error(
    moderated: Moderated,
) -> None:
    key_id, auth = moderated.key()
    response = moderated.post(auth, prompt="a fox [unsafe-image]", stream=True, partial_images=1)
    assert response.status_code == 200, response.text
    blocks = [b for b in response.text.strip().split("\n\n") if b]
    last = dict(line.split(": ", 1) for line in blocks[-1].splitlines())
    assert last["event"] == "error"
    assert json.loads(last["data"])["error"]["code"] == "content_policy_violation"
    assert moderated.money(key_id) == (TEN, [("refund", 0), ("topup", TEN)])


def test_an_account_is_suspended_after_the_operators_number_of_blocked_requests(
    moderated: Moderated, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEGATE_MODERATION_SUSPEND_AFTER", "2")
    container.reset()
    key_id, auth = moderated.key()
    # Given a request that passes, then two that are blocked
    assert moderated.post(auth, prompt="a fox").status_code == 200
    assert moderated.post(auth, prompt="[unsafe]").status_code == 400
    assert moderated.post(auth, prompt="a knife [weapons]").status_code == 400
    # Then the account is suspended, saying why, and its key stops working
    refused = moderated.post(auth, prompt="a fox")
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "account_suspended"
    audit = signed("GET", f"{moderated.origin}/admin/v1/keys/{key_id}/audit").json()["data"]
    (suspended,) = [entry for entry in audit if entry["action"] == "suspended"]
    assert suspended["actor"] == "imagegate"
    assert "2 requests blocked by the content policy (last: topic:Weapons)" in json.dumps(suspended)


def test_a_stricter_account_blocks_what_the_guardrail_lets_through(
    moderated: Moderated,
) -> None:
    key_id, auth = moderated.key()
    place = f"{moderated.origin}/admin/v1/accounts/{key_id}/moderation"
    # Given the guardrail lets a medium-confidence duel through
    assert moderated.post(auth, prompt="a duel [edgy]").status_code == 200
    # When the operator holds the account to violence at high strength
    strict = {"strengths": {"violence": "high"}, "check_outputs": True}
    changed = signed("PUT", place, strict)
    assert changed.status_code == 200, changed.text
    assert changed.json()["policy"] == strict
    container.reset()  # warm instances read it within POLICY_SECONDS; a fresh one at once
    # Then the same prompt is blocked, naming the category
    blocked = moderated.post(auth, prompt="a duel [edgy]")
    assert blocked.status_code == 400, blocked.text
    assert "violence" in blocked.json()["error"]["message"]
    # but a request asking for OpenAI's moderation "low" gets the guardrail alone
    assert moderated.post(auth, prompt="a duel [edgy]", moderation="low").status_code == 200
    # and the change is audited, the blocked request counted
    shown = signed("GET", place).json()
    assert (shown["violations"], shown["policy"]) == (1, strict)
    audit = signed("GET", f"{moderated.origin}/admin/v1/keys/{key_id}/audit").json()["data"]
    assert "moderation_changed" in [entry["action"] for entry in audit]
    # A category that is none is refused
    wrong = signed("PUT", place, {"strengths": {"gore": "high"}})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["param"] == "strengths"


@pytest.fixture
def moderated_local(local: Local) -> Iterator[tuple[Local, FakeBedrock]]:
    """The local stack with its queue functions, the guardrail's stand-in given to it (the
    stack gives the process its environment back when it stops)."""
    with FakeBedrock() as guardrail:
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = guardrail.endpoint_url
        os.environ["IMAGEGATE_GUARDRAIL_ID"] = "abcdef123456"
        container.reset()
        yield local, guardrail


def test_batch_lines_are_moderated_as_requests_are(
    moderated_local: tuple[Local, FakeBedrock],
) -> None:
    local, guardrail = moderated_local
    funded = 1_000_000
    key_id, headers = new_key(balance=funded)
    # Given a batch of a fine line, one with a blocked prompt and one whose image is blocked
    prompts = ["a fox", "a fight [unsafe]", "a fox [unsafe-image]"]
    lines = [
        {"custom_id": f"line-{i}", "body": {"prompt": p, "size": "256x256", "seed": i}}
        for i, p in enumerate(prompts)
    ]
    created = local.client.post("/v1/batches", json={}, headers=headers).json()
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    upload = httpx.post(created["upload_url"], data=created["upload_fields"], files={"file": data})
    assert upload.is_success, upload.text
    local.wait()
    # Then the first line is made and charged; the other two fail with the policy error
    batch = local.client.get(f"/v1/batches/{created['id']}", headers=headers).json()
    assert batch["request_counts"] == {"total": 3, "completed": 1, "failed": 2}
    output = [json.loads(line) for line in httpx.get(batch["output_url"]).text.splitlines()]
    codes = [line["response"]["body"].get("error", {}).get("code") for line in output]
    assert codes == [None, "content_policy_violation", "content_policy_violation"]
    assert balance_of(key_id) == funded - batch["cost"]
    assert batch["cost"] == sum(usage.charged for usage in usage_of(key_id)) > 0
    assert {call["body"]["source"] for call in guardrail.guardrail_calls} == {"INPUT", "OUTPUT"}
