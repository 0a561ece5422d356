"""``imagegate usage``: requests, images and spend per key and UTC day."""

import csv
import json
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from handler.cli.local import DEFAULT_STATE_DIR
from handler.cli.target import (
    AsJson,
    CurrencyOption,
    LedgerTableOption,
    LocalOption,
    PortOption,
    StackOption,
    StateDir,
    TableOption,
    Target,
    UsageTableOption,
    day_start,
    err,
    reported,
)
from handler.cli.views import Column, print_table

if TYPE_CHECKING:
    from handler.money.usage import UsageTotals

# A row of the table: the day, the key id and what it did that day.
Day = tuple[str, str, "UsageTotals"]


def usage(
    key: Annotated[
        str | None, typer.Option(help="One key (id or whole key); default: all.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (UTC).")] = None,
    as_json: AsJson = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV output.")] = False,
    local: LocalOption = False,
    stack: StackOption = None,
    table: TableOption = None,
    usage_table: UsageTableOption = None,
    ledger_table: LedgerTableOption = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    port: PortOption = None,
    currency: CurrencyOption = "usd",
) -> None:
    """Requests, images and spend per key and UTC day."""
    from handler.money.usage import by_day, period

    target = Target(local, stack, table, usage_table, ledger_table, state_dir, port, currency)
    end = day_start(until, "--until") + 86_400 if until else None
    if since and day_start(since, "--since") > time.time():
        err.print(f"[yellow]warning:[/] --since {since} is after today: no usage is there yet.")
    with reported():
        start, end = period(day_start(since, "--since") if since else None, end, now=time.time())
        charges = target.charge_store()
        key_ids = [target.key_id(key)] if key else [r.key_id for r in target.key_store().list()]
        records = [
            record
            for key_id in key_ids
            for record in charges.usage(key_id, start_ms=start * 1000, end_ms=end * 1000 - 1)
        ]
    days = by_day(records)
    if as_json or as_csv:
        dicts = [_usage_row(day, key_id, counts) for (day, key_id), counts in days.items()]
        if as_json:
            typer.echo(json.dumps(dicts))
        else:
            writer = csv.DictWriter(sys.stdout, fieldnames=USAGE_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(dicts)
        return
    rows: list[Day] = [(day, key_id, counts) for (day, key_id), counts in days.items()]
    with reported():
        money = target.money().fitting(
            amount for *_, counts in rows for amount in (counts.charged, counts.refunded)
        )
    day = Column[Day]("day (UTC)", lambda r: r[0])
    key_id = Column[Day]("key id", lambda r: r[1])
    requests = Column[Day]("requests", lambda r: str(r[2].requests), right=True)
    images = Column[Day]("images", lambda r: str(r[2].images), right=True)
    spend = Column[Day]("spend", lambda r: money(r[2].charged), right=True)
    refunded = Column[Day]("refunded", lambda r: money(r[2].refunded), right=True)
    failed = Column[Day]("failed", lambda r: str(r[2].failed), right=True)
    print_table(
        [
            [day, key_id, requests, images, spend, refunded, failed],
            [day, key_id, requests, images, spend],
            [day, key_id, spend],
        ],
        rows,
    )


USAGE_COLUMNS = ["date", "key_id", "requests", "images", "spend", "refunded", "failed_requests"]


def _usage_row(day: str, key_id: str, counts: "UsageTotals") -> dict[str, object]:
    """Money in micro-units, as the API reports it."""
    values = (counts.requests, counts.images, counts.charged, counts.refunded, counts.failed)
    return dict(zip(USAGE_COLUMNS, (day, key_id, *values), strict=True))
