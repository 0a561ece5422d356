"""What an operator reads on an 80-column terminal: whole ids, every amount in the
deployment's currency with the view's one number of decimals, dates as dates; and key ids
taken by a unique start."""

import json
import re

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from handler.cli.main import app
from tests.integration.test_cli_keys import KEYS, TABLES, URL, _bearer, _create

NARROW = {"COLUMNS": "80"}
LEDGER = ["billing", "--table", "test-keystable", "--ledger-table", "test-ledgertable"]


def _fits(output: str) -> None:
    assert all(len(line) <= 80 for line in output.splitlines()), output


def test_keys_list_fits_80_columns_with_whole_ids_and_currency(client: TestClient) -> None:
    # Given keys with long names, models and amounts of two and of four decimals
    made = [
        _create("--name", "the mobile app of the shop, production", "--balance", "25.00"),
        _create("--name", "tiny", "--balance", "0.0005", "--model", "imagegate-preview"),
    ]
    # When they are listed on an 80-column terminal
    listed = CliRunner().invoke(app, [*KEYS, "list"], env=NARROW)
    assert listed.exit_code == 0, listed.output
    # Then it fits, every id whole, every amount with the currency and the same decimals
    _fits(listed.stdout)
    for plaintext in made:
        assert plaintext.split("_")[1] in listed.stdout
    assert "25.0000 USD" in listed.stdout
    assert "0.0005 USD" in listed.stdout
    assert "…" not in listed.stdout
    # And a wide terminal shows the columns a narrow one leaves out
    wide = CliRunner().invoke(app, [*KEYS, "list"], env={"COLUMNS": "200"})
    assert "imagegate-preview" in wide.stdout
    assert "imagegate-preview" not in listed.stdout


def test_usage_and_the_ledger_fit_80_columns_with_whole_ids(client: TestClient) -> None:
    # Given a key that paid for two images
    plaintext = _create("--name", "shop", "--balance", "1.00")
    key_id = plaintext.split("_")[1]
    paid = client.post(URL, headers=_bearer(plaintext), json={"prompt": "a fox", "n": 2})
    assert paid.status_code == 200, paid.text
    runner = CliRunner()
    # When its usage and its ledger are shown on an 80-column terminal
    usage = runner.invoke(app, ["usage", *TABLES], env=NARROW)
    ledger = runner.invoke(app, [*LEDGER, "transactions", key_id], env=NARROW)
    # Then both fit, with the key's and the entries' ids whole and amounts in USD
    for shown in (usage, ledger):
        assert shown.exit_code == 0, shown.output
        _fits(shown.stdout)
        assert "USD" in shown.stdout
    assert key_id in usage.stdout
    assert "0.008 USD" in usage.stdout
    entries = json.loads(runner.invoke(app, [*LEDGER, "transactions", key_id, "--json"]).stdout)
    for entry in entries["data"]:
        assert entry["id"] in ledger.stdout
    # The ledger's amounts line up on the decimals its most precise one needs
    assert "-0.008 USD" in ledger.stdout
    assert "1.000 USD" in ledger.stdout


def test_keys_show_writes_money_and_dates_as_people_read_them(client: TestClient) -> None:
    key_id = _create("--name", "shop", "--balance", "25.00", "--daily-cap", "5.00").split("_")[1]
    shown = CliRunner().invoke(app, [*KEYS, "show", key_id], env=NARROW)
    assert shown.exit_code == 0, shown.output
    _fits(shown.stdout)
    assert re.search(r"balance\s+│ 25\.00 USD", shown.stdout)
    assert re.search(r"daily spend cap\s+│ 5\.00 USD", shown.stdout)
    assert re.search(r"created\s+│ \d{4}-\d\d-\d\d \d\d:\d\d UTC", shown.stdout)
    assert "25000000" not in shown.stdout


def test_a_key_is_named_by_a_unique_start_of_its_id(client: TestClient) -> None:
    runner = CliRunner()
    # Given keys, two of which start alike (one hex digit: 17 keys make a pair for sure)
    by_start: dict[str, list[str]] = {}
    while not any(len(ids) > 1 for ids in by_start.values()):
        key_id = _create("--name", "k").split("_")[1]
        by_start.setdefault(key_id[0], []).append(key_id)
    shared, pair = next((start, ids) for start, ids in by_start.items() if len(ids) > 1)
    # When one is named by as much of its id as sets it apart
    whole = pair[0]
    start = next(whole[:n] for n in range(2, 17) if not pair[1].startswith(whole[:n]))
    topped = runner.invoke(app, [*KEYS, "topup", start, "1.50"], env={"COLUMNS": "300"})
    # Then that key is the one topped up
    assert topped.exit_code == 0, topped.output
    assert f"Key {whole}" in topped.output
    assert "balance 1.50 USD" in topped.output
    # And a start two keys share is refused naming both; one no key has, saying so
    ambiguous = runner.invoke(app, [*KEYS, "show", shared], env={"COLUMNS": "300"})
    assert ambiguous.exit_code == 1
    assert all(key_id in ambiguous.output for key_id in pair)
    unknown = runner.invoke(app, [*KEYS, "show", "zz"], env={"COLUMNS": "300"})
    assert (unknown.exit_code, "No API key id starts with 'zz'" in unknown.output) == (1, True)


def test_an_amount_without_a_decimal_point_is_refused_naming_both_forms(
    client: TestClient,
) -> None:
    key_id = _create("--name", "x").split("_")[1]
    refused = CliRunner().invoke(app, [*KEYS, "topup", key_id, "25"], env={"COLUMNS": "300"})
    assert refused.exit_code == 1
    assert '"10.00"' in refused.output
    shown = json.loads(CliRunner().invoke(app, [*KEYS, "show", key_id, "--json"]).stdout)
    assert shown["balance"] == 0
