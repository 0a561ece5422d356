"""Deployed, a webhook may go only to a host that is, and resolves to, public addresses."""

from collections.abc import Sequence

import pytest

from handler.core.errors import InvalidRequest
from handler.core.webhooks import Resolver, check_webhook_host, check_webhook_url, non_public

NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "10.0.0.7",  # private
    "172.16.3.4",
    "192.168.1.1",
    "169.254.169.254",  # link-local: the instance metadata service
    "100.64.0.1",  # shared (carrier-grade NAT)
    "0.0.0.0",  # unspecified  # noqa: S104 - an address to refuse, not to bind
    "224.0.0.1",  # multicast
    "192.0.2.10",  # documentation
    "240.0.0.1",  # reserved
    "::1",
    "::",
    "fe80::1%eth0",
    "fc00::1",  # unique local
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:8.8.8.8",  # mapped: outside 2000::/3, whatever it maps
    "::ffff:0:a9fe:a9fe",  # IPv4-translated
    "::a9fe:a9fe",  # IPv4-compatible (deprecated) 169.254.169.254
    "::127.0.0.1",
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo of 10.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64
    "not an address",
]
PUBLIC = ["93.184.216.34", "2606:4700:4700::1111", "2002:808:808::1"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_found(address: str) -> None:
    assert non_public(["93.184.216.34", address]) == address


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert non_public([address]) is None


def _resolver(table: dict[str, list[str]]) -> Resolver:
    def resolve(host: str, port: int) -> Sequence[str]:
        return table.get(host, [])

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/h",
        "https://[::1]/h",
        "https://[::ffff:10.0.0.1]/h",
        "https://169.254.169.254/latest/meta-data",
        "https://internal.example/h",  # a name that resolves to a private address
        "https://mixed.example/h",  # one public address and one private
        "https://nowhere.example/h",  # does not resolve
    ],
)
def test_deployed_submissions_refuse_hosts_that_are_not_public(url: str) -> None:
    resolve = _resolver(
        {"internal.example": ["10.1.2.3"], "mixed.example": ["93.184.216.34", "192.168.0.5"]}
    )
    assert check_webhook_url(url) == url  # its form is fine
    with pytest.raises(InvalidRequest) as refused:
        check_webhook_host(url, resolve)
    assert (refused.value.param, refused.value.code) == ("webhook_url", "invalid_value")
    assert "192.168" not in refused.value.message  # where a name leads is not told


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example/h",  # plain http
        "http://localhost:8080/h",  # to this machine: the local stack only
        "https://[::1/h",  # a bracket left open
        "https://hooks.example:99999/h",  # no such port
        "https://user:secret@hooks.example/h",
        "https://hooks.example/é",  # not percent-encoded
        "https://bücher.example/h",  # not IDNA-encoded
        "https://hooks.example/a b",
        "/relative",
        "https://" + "a" * 2050 + ".example/",
    ],
)
def test_urls_of_the_wrong_form_are_refused_before_any_lookup(url: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_webhook_url(url)
    assert refused.value.param == "webhook_url"


def test_deployed_submissions_take_a_public_https_host() -> None:
    resolve = _resolver({"hooks.example": ["93.184.216.34"]})
    url = "https://hooks.example/imagegate?source=x"
    assert check_webhook_url(url) == url
    check_webhook_host(url, resolve)


def test_the_local_stack_takes_http_to_this_machine() -> None:
    url = "http://localhost:9000/h"
    assert check_webhook_url(url, allow_local=True) == url
