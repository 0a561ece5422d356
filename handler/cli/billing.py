"""``imagegate billing``: a key's ledger, and the audit of every key's balance against its."""

import json
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
    err,
    reported,
)
from handler.cli.views import Column, print_table, utc

if TYPE_CHECKING:
    from handler.core.records.ledger import LedgerEntry

billing_app = typer.Typer(no_args_is_help=True)


@billing_app.callback()
def billing_target(
    ctx: typer.Context,
    local: LocalOption = False,
    stack: StackOption = None,
    table: TableOption = None,
    ledger_table: LedgerTableOption = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    port: PortOption = None,
    currency: CurrencyOption = "usd",
) -> None:
    """Ledgers of the deployment named by one option."""
    ctx.obj = Target(local, stack, table, None, ledger_table, state_dir, port, currency)


@billing_app.command("transactions")
def transactions(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Key id, or the whole key.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="Entries, newest first.")] = 20,
    after: Annotated[str | None, typer.Option(help="Start after this entry id.")] = None,
    as_json: AsJson = False,
) -> None:
    """A key's ledger: top-ups, adjustments, charges, refunds and reversals, newest first."""
    from handler.money.ledger import entry_place

    with reported():
        before = None if after is None else entry_place(after)
        from handler.core.keys import account_of  # a key's money is its account's

        account_id = account_of(ctx.obj.key_id(key))
        page = ctx.obj.entries().page(account_id, limit=limit, before=before)
    if as_json:
        from handler.api.routes.billing import transaction_list  # the API's own shape

        typer.echo(transaction_list(page).model_dump_json())
        return
    with reported():
        money = ctx.obj.money().fitting(entry.amount for entry in page.entries)
    entry_id = Column["LedgerEntry"]("id", lambda e: e.entry_id)
    when = Column["LedgerEntry"]("when (UTC)", lambda e: utc(e.at / 1000, seconds=True))
    kind = Column["LedgerEntry"]("type", lambda e: e.kind)
    amount = Column["LedgerEntry"]("amount", lambda e: money(e.amount), right=True)
    actor = Column["LedgerEntry"]("by", lambda e: e.actor, prose=True)
    about = Column["LedgerEntry"]("about", _about, prose=True)
    # Narrower: the id whole on its first line, when, what and who below it.
    entry = Column["LedgerEntry"](
        "entry",
        lambda e: f"{e.entry_id}\n{utc(e.at / 1000, seconds=True)} {e.kind}\n{e.actor}",
    )
    print_table(
        [
            [entry_id, when, kind, amount, actor, about],
            [entry_id, when, kind, amount, about],
            [entry, amount, about],
            [entry, amount],
        ],
        page.entries,
    )
    if page.has_more:
        err.print(f"More: --after {page.entries[-1].entry_id}")


def _about(entry: "LedgerEntry") -> str:
    return entry.reason or entry.source or entry.model or ""


@billing_app.command("audit")
def audit(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Hold every key's balance (plus what its open reservations hold) against the sum of
    its ledger, as the reconciler does every five minutes. Exits 1 on any difference."""
    with reported():
        # Read-only: the checkpoints are the reconciler's to move, by the functions' clock.
        audits = list(ctx.obj.entries().audits(now_ms=int(time.time() * 1000), fold=False))
        wrong = [a for a in audits if a.difference]
        money = ctx.obj.money().fitting(a.difference for a in wrong)
    if as_json:
        typer.echo(json.dumps([{"key_id": a.key_id, "difference": a.difference} for a in wrong]))
    for found in wrong:
        err.print(
            f"[red]key {found.key_id}:[/] balance off its ledger by {money(found.difference)}"
        )
    if not as_json:
        err.print(f"{len(audits)} keys audited, {len(wrong)} off their ledger.")
    if wrong:
        raise typer.Exit(1)
