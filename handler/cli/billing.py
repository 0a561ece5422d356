"""``imagegate billing``: a key's ledger, and the audit of every key's balance against its."""

import json
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
    err,
    key_id_of,
    reported,
)
from handler.core.ledger import entry_place
from handler.core.money import format_micros

billing_app = typer.Typer(no_args_is_help=True)


@billing_app.callback()
def billing_target(
    ctx: typer.Context,
    local: LocalOption = False,
    stack: StackOption = None,
    table: TableOption = None,
    ledger_table: LedgerTableOption = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Ledgers of the deployment named by one option."""
    ctx.obj = Target(local, stack, table, None, ledger_table, state_dir)


@billing_app.command("transactions")
def transactions(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Key id, or the whole key.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="Entries, newest first.")] = 20,
    after: Annotated[str | None, typer.Option(help="Start after this entry id.")] = None,
    as_json: AsJson = False,
) -> None:
    """A key's ledger: top-ups, adjustments, charges, refunds and reversals, newest first."""
    with reported():
        before = None if after is None else entry_place(after)
        page = ctx.obj.entries().page(key_id_of(key), limit=limit, before=before)
    if as_json:
        from handler.api.routes.billing import transaction_list  # the API's own shape

        typer.echo(transaction_list(page).model_dump_json())
        return
    view = Table("id", "when (UTC)", "type", "amount", "by", "about")
    for entry in page.entries:
        about = entry.reason or entry.source or entry.model or ""
        view.add_row(
            entry.entry_id,
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(entry.at / 1000)),
            entry.kind,
            format_micros(entry.amount),
            entry.actor,
            about,
        )
    Console().print(view)
    if page.has_more:
        err.print(f"More: --after {page.entries[-1].entry_id}")


@billing_app.command("audit")
def audit(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Hold every key's balance (plus what its open reservations hold) against the sum of
    its ledger, as the reconciler does every five minutes. Exits 1 on any difference."""
    with reported():
        # Read-only: the checkpoints are the reconciler's to move, by the functions' clock.
        audits = list(ctx.obj.entries().audits(now_ms=int(time.time() * 1000), fold=False))
    wrong = [a for a in audits if a.difference]
    if as_json:
        typer.echo(json.dumps([{"key_id": a.key_id, "difference": a.difference} for a in wrong]))
    for found in wrong:
        err.print(f"[red]key {found.key_id}:[/] balance off its ledger by {found.difference}")
    if not as_json:
        err.print(f"{len(audits)} keys audited, {len(wrong)} off their ledger.")
    if wrong:
        raise typer.Exit(1)
