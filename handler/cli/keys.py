"""``imagegate keys``: create, list, show, top up and revoke API keys."""

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
    UsageTableOption,
    day_start,
    err,
    key_id_of,
    operator,
    reported,
)
from handler.core.errors import NotFound
from handler.core.ledger import typed_amount
from handler.core.money import format_micros, parse_amount
from handler.core.policy import DEFAULT_POLICY
from handler.core.ports import ApiKeyRecord, KeyPolicy

keys_app = typer.Typer(no_args_is_help=True)
KeyArgument = Annotated[str, typer.Argument(help="Key id, or the whole key.")]


@keys_app.callback()
def keys_target(
    ctx: typer.Context,
    local: LocalOption = False,
    stack: StackOption = None,
    table: TableOption = None,
    usage_table: UsageTableOption = None,
    ledger_table: LedgerTableOption = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Create, list, show, top up, adjust and revoke API keys of the deployment named by one
    option."""
    ctx.obj = Target(local, stack, table, usage_table, ledger_table, state_dir)


def _amount(text: str) -> int:
    try:
        return parse_amount(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


CapOption = Annotated[
    str | None,
    typer.Option(help="Spend limit in currency units (UTC day or month); 'none' lifts it."),
]


def cap_of(text: str | None) -> int | None:
    return None if text is None or text.lower() == "none" else _amount(text)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="What the key is for.")],
    balance: Annotated[
        str, typer.Option(help="Prepaid balance in currency units, e.g. 25.00.")
    ] = "0",
    rpm: Annotated[int, typer.Option(min=1, help="Requests per minute.")] = (
        DEFAULT_POLICY.requests_per_minute
    ),
    ipm: Annotated[int, typer.Option(min=1, help="Images per minute.")] = (
        DEFAULT_POLICY.images_per_minute
    ),
    model: Annotated[
        list[str] | None, typer.Option(help="A model the key may use (repeat; default: all).")
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="Last day the key works, YYYY-MM-DD (UTC).")
    ] = None,
    daily_cap: CapOption = None,
    monthly_cap: CapOption = None,
    as_json: AsJson = False,
) -> None:
    """Create a key. Its plaintext is printed once and stored nowhere."""
    policy = KeyPolicy(
        requests_per_minute=rpm,
        images_per_minute=ipm,
        models=frozenset(model) if model else None,
        expires_at=day_start(expires, "--expires") + 86_400 if expires else None,
        daily_spend_cap=cap_of(daily_cap),
        monthly_spend_cap=cap_of(monthly_cap),
    )
    with reported():
        issued = ctx.obj.key_admin().create(
            operator(), name, policy, balance=_amount(balance), source="cli"
        )
    show_issued(issued.record.key_id, name, issued.plaintext, as_json, "Created key")


def show_issued(key_id: str, name: str, plaintext: str, as_json: bool, what: str) -> None:
    if as_json:
        typer.echo(json.dumps({"key_id": key_id, "name": name, "api_key": plaintext}))
        return
    err.print(f"{what} [bold]{key_id}[/] ({name}). It is shown only this once:")
    typer.echo(plaintext)


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List keys with their balance and limits (secrets are never stored)."""
    with reported():
        records = ctx.obj.key_store().list()
    if as_json:
        typer.echo(json.dumps([_key_json(r) for r in records]))
        return
    view = Table("key id", "name", "status", "balance", "rpm", "ipm", "models", "created (UTC)")
    for r in records:
        view.add_row(
            r.key_id,
            r.name,
            _status(r),
            format_micros(r.balance),
            str(r.policy.requests_per_minute),
            str(r.policy.images_per_minute),
            ", ".join(sorted(r.policy.models)) if r.policy.models else "all",
            _when(r.created_at),
        )
    Console().print(view)


@keys_app.command("show")
def keys_show(ctx: typer.Context, key: KeyArgument, as_json: AsJson = False) -> None:
    """One key: status, balance, spend, limits, open reservations."""
    with reported():
        record = ctx.obj.key_store().get(key_id_of(key))
        if record is None:
            raise NotFound(f"No API key with id {key_id_of(key)}.")
    if as_json:
        typer.echo(json.dumps(_key_json(record)))
        return
    view = Table(show_header=False)
    for field, value in _key_json(record).items():
        view.add_row(field, "-" if value is None else str(value))
    Console().print(view)


ReasonOption = Annotated[str | None, typer.Option(help="Why, for the key's ledger.")]


@keys_app.command("topup")
def keys_topup(
    ctx: typer.Context, key: KeyArgument, amount: str, reason: ReasonOption = None
) -> None:
    """Add AMOUNT (currency units, e.g. 10.00) to a key's balance: a top-up in its ledger."""
    with reported():
        micros = typed_amount(amount)
        record = ctx.obj.key_admin().move(
            "topup", operator(), key_id_of(key), micros, reason, source="cli"
        )
    _posted(record, "topup", micros)


@keys_app.command("adjust")
def keys_adjust(
    ctx: typer.Context,
    key: KeyArgument,
    amount: Annotated[str, typer.Argument(help="Signed, e.g. -2.50 or 1.00.")],
    reason: Annotated[str, typer.Option(help="Why, for the key's ledger (required).")],
) -> None:
    """Correct a key's balance by a signed AMOUNT: an adjustment in its ledger, with its
    reason. A balance may go below zero; the key then pays nothing until it is funded."""
    with reported():
        micros = typed_amount(amount, signed=True)
        record = ctx.obj.key_admin().move("adjustment", operator(), key_id_of(key), micros, reason)
    _posted(record, "adjustment", micros)


def _posted(record: ApiKeyRecord, kind: str, amount: int) -> None:
    sign = "+" if amount >= 0 else "-"
    err.print(
        f"Key [bold]{record.key_id}[/] ({record.name}): {kind} "
        f"{sign}{format_micros(abs(amount))}, balance {format_micros(record.balance)}."
    )


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key: KeyArgument) -> None:
    """Revoke a key: its next request gets 401."""
    with reported():
        record = ctx.obj.key_admin().revoke(operator(), key_id_of(key))
    err.print(f"Revoked key [bold]{record.key_id}[/] ({record.name}).")


def _key_json(record: ApiKeyRecord) -> dict[str, object]:
    policy = record.policy
    return {
        "key_id": record.key_id,
        "name": record.name,
        "status": _status(record),
        "balance": record.balance,
        "spent": record.spent,
        "requests_per_minute": policy.requests_per_minute,
        "images_per_minute": policy.images_per_minute,
        "models": sorted(policy.models) if policy.models else None,
        "expires_at": policy.expires_at,
        "daily_spend_cap": policy.daily_spend_cap,
        "monthly_spend_cap": policy.monthly_spend_cap,
        "created_at": record.created_at,
        "revoked_at": record.revoked_at,
        "open_reservations": len(record.open_reservations),
    }


def _status(record: ApiKeyRecord) -> str:
    expires_at = record.policy.expires_at
    if record.status == "active" and expires_at is not None and expires_at <= time.time():
        return "expired"
    return record.status


def _when(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(timestamp))
