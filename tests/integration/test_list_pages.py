"""Every list route's paging through the local API Gateway, as the README states it: `limit`
1 to 100 (a bad one is a 400 naming `limit`, as sent), and an `after` that is not one of the
caller's own (another key's id, or one made up) a 400 naming `after`."""

import httpx
import pytest

from tests.support import assert_error, new_key, signed

LISTS = ["/v1/images/jobs", "/v1/batches", "/v1/usage/requests", "/v1/billing/transactions"]


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_a_bad_limit_names_the_query_parameter_as_sent(origin: str, limit: str) -> None:
    key_id, auth = new_key(balance=0)
    answers = [
        httpx.get(f"{origin}{path}", headers=auth, params={"limit": limit}) for path in LISTS
    ]
    admin = f"{origin}/admin/v1/keys"
    answers += [signed("GET", f"{admin}?limit={limit}")]
    answers += [signed("GET", f"{admin}/{key_id}/transactions?limit={limit}")]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert (error["type"], error["param"]) == ("invalid_request_error", "limit"), error


def test_an_after_that_is_not_the_callers_own_is_refused(origin: str) -> None:
    # Given two keys, each with a priced request and its ledger entries
    _, mine = new_key(balance=10**9)
    _, theirs = new_key(balance=2 * 10**9)
    for auth in (mine, theirs):
        made = httpx.post(
            f"{origin}/v1/images/generations", headers=auth, json={"prompt": "a"}, timeout=30
        )
        assert made.status_code == 200, made.text
    for path, forged in (
        ("/v1/usage/requests", "ureq_1700000000000_req_made_up"),
        ("/v1/billing/transactions", "txn_1700000000000_op_made_up"),
    ):
        url = f"{origin}{path}"
        [own, *_] = httpx.get(url, headers=mine).json()["data"]
        [their, *_] = httpx.get(url, headers=theirs).json()["data"]
        assert their["id"] != own["id"]
        # When the caller pages after another key's id, or a made-up one: a 400
        for after in (their["id"], forged):
            refused = httpx.get(url, headers=mine, params={"after": after})
            assert refused.status_code == 400, refused.text
            assert_error(
                refused.json(), type_="invalid_request_error", param="after", code="invalid_value"
            )
        # And after its own, the next page
        assert httpx.get(url, headers=mine, params={"after": own["id"]}).status_code == 200
