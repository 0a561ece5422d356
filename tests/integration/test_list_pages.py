"""Every list route's paging through the local API Gateway, as the README states it: `limit`
1 to 100, a bad one a 400 naming `limit`, as sent."""

import httpx
import pytest

from tests.support import new_key, signed

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
