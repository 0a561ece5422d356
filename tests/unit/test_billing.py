import pytest

from handler.core.amounts import format_micros, parse_amount
from handler.core.catalog import load_catalog
from handler.core.errors import (
    AuthenticationFailed,
    InsufficientQuota,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
)
from handler.core.records.charges import Charge
from handler.core.records.keys import ApiKeyRecord, Credentials, KeyPolicy
from handler.core.schemas import GenerationRequest
from handler.core.spec_rules import build_spec
from handler.money.policy import check_key, refusal
from handler.money.pricing import unit_price
from tests.support import ROOT

CATALOG = load_catalog(ROOT / "infra" / "catalog.json")
NOW = 1_800_000_000.0
MINUTE = int(NOW // 60)


def _record(**overrides: object) -> ApiKeyRecord:
    fields: dict[str, object] = {
        "key_id": "0123456789abcdef",
        "name": "k",
        "secret_hash": "a" * 64,
        "status": "active",
        "created_at": 0,
        "policy": KeyPolicy(requests_per_minute=5, images_per_minute=8),
        "balance": 10_000,
    }
    fields.update(overrides)
    return ApiKeyRecord(**fields)  # type: ignore[arg-type]


def _charge(n: int = 1, unit: int = 1000, model: str = "imagegate-preview") -> Charge:
    return Charge("req_1", model, "1024x1024", n, unit, int(NOW * 1000))


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "0.00"),
        (1, "0.000001"),
        (1_500_000, "1.50"),
        (12_345_678, "12.345678"),
        (-2500, "-0.0025"),
    ],
)
def test_format_micros(amount: int, text: str) -> None:
    assert format_micros(amount) == text


@pytest.mark.parametrize(
    ("text", "micros"), [("10", 10_000_000), ("0.000001", 1), (" 2.5 ", 2_500_000)]
)
def test_parse_amount(text: str, micros: int) -> None:
    assert parse_amount(text) == micros


@pytest.mark.parametrize("text", ["-1", "1e400", "0.0000001", "abc", "inf", "nan", ""])
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_amount(text)


@pytest.mark.parametrize(
    ("model", "body", "price"),
    [
        ("imagegate-preview", {}, 4000),
        ("imagegate-preview", {"steps": 5}, 5000),  # 4000 x 5/4
        ("imagegate-preview", {"steps": 1}, 1000),
        ("imagegate-preview", {"quality": "high"}, 8000),
        ("sd-imagegate", {"size": "768x768", "steps": 7}, 788),  # ceil(2813 x 7/25)
        ("flux-schnell", {"size": "1536x1024"}, 4500),
    ],
)
def test_unit_price(model: str, body: dict[str, object], price: int) -> None:
    request = GenerationRequest.model_validate({"prompt": "a", "model": model, **body})
    assert unit_price(build_spec(CATALOG.get(model), request, "r")) == price


def test_check_key_refuses_in_one_voice() -> None:
    good = Credentials("0123456789abcdef", "a" * 64)
    assert check_key(_record(), good, NOW).key_id == good.key_id
    for record, credentials in [
        (None, good),
        (_record(), Credentials(good.key_id, "b" * 64)),
        (_record(status="revoked"), good),
        (_record(policy=KeyPolicy(5, 8, expires_at=int(NOW))), good),
    ]:
        with pytest.raises(AuthenticationFailed):
            check_key(record, credentials, NOW)


def test_refusal_says_why_in_order() -> None:
    limited = KeyPolicy(5, 8, models=frozenset({"sdxl"}))
    assert isinstance(refusal(_record(policy=limited), _charge(), NOW), PermissionDenied)
    assert isinstance(refusal(_record(), _charge(n=9), NOW), InvalidRequest)
    spent = _record(requests_left={MINUTE: 0})
    assert isinstance(refusal(spent, _charge(), NOW), RateLimited)
    few_images = _record(images_left={MINUTE: 1})
    limited_error = refusal(few_images, _charge(n=2), NOW)
    assert isinstance(limited_error, RateLimited)
    assert limited_error.retry_after == 60 - int(NOW % 60)
    assert isinstance(refusal(_record(balance=1999), _charge(n=2), NOW), InsufficientQuota)
    # An old window does not count against this minute
    assert isinstance(
        refusal(_record(requests_left={MINUTE - 1: 0}, balance=0), _charge(), NOW),
        InsufficientQuota,
    )
    # Nothing explains it: the key can pay (the reservation will call it a race, retryable)
    assert refusal(_record(), _charge(), NOW) is None
    # Queued work is not held to the windows, only to the balance
    assert refusal(spent, _charge(), NOW, windows=False) is None
