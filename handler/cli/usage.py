"""``imagegate usage``: requests, images and spend per key and UTC day."""

import csv
import json
import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from handler.cli.local import DEFAULT_STATE_DIR
from handler.cli.target import (
    AsJson,
    LedgerTableOption,
    LocalOption,
    StackOption,
    StateDir,
    TableOption,
    Target,
    UsageTableOption,
    day_start,
    key_id_of,
    reported,
)
from handler.core.money import format_micros
from handler.core.usage import UsageTotals, by_day, period


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
) -> None:
    """Requests, images and spend per key and UTC day."""
    target = Target(local, stack, table, usage_table, ledger_table, state_dir)
    end = day_start(until, "--until") + 86_400 if until else None
    with reported():
        start, end = period(day_start(since, "--since") if since else None, end, now=time.time())
        ledger = target.ledger()
        key_ids = [key_id_of(key)] if key else [r.key_id for r in target.key_store().list()]
        records = [
            record
            for key_id in key_ids
            for record in ledger.usage(key_id, start_ms=start * 1000, end_ms=end * 1000 - 1)
        ]
    days = by_day(records)
    if as_json or as_csv:
        rows = [_usage_row(day, key_id, counts) for (day, key_id), counts in days.items()]
        if as_json:
            typer.echo(json.dumps(rows))
        else:
            writer = csv.DictWriter(sys.stdout, fieldnames=USAGE_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return
    view = Table("day (UTC)", "key id", "requests", "images", "spend", "refunded", "failed")
    for (day, key_id), counts in days.items():
        view.add_row(
            day,
            key_id,
            str(counts.requests),
            str(counts.images),
            format_micros(counts.charged),
            format_micros(counts.refunded),
            str(counts.failed),
        )
    Console().print(view)


USAGE_COLUMNS = ["date", "key_id", "requests", "images", "spend", "refunded", "failed_requests"]


def _usage_row(day: str, key_id: str, counts: UsageTotals) -> dict[str, object]:
    """Money in micro-units, as the API reports it."""
    values = (counts.requests, counts.images, counts.charged, counts.refunded, counts.failed)
    return dict(zip(USAGE_COLUMNS, (day, key_id, *values), strict=True))
