"""``imagegate keys``: create, list, show, top up and revoke API keys."""

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
    UsageTableOption,
    day_start,
    err,
    operator,
    reported,
)
from handler.cli.views import Column, Money, print_table, utc
from handler.core.records.keys import DEFAULT_POLICY, KeyPolicy

# The stores and the operators' rules are imported by the commands that reach them, so that
# `imagegate --help` starts at once.
if TYPE_CHECKING:
    from handler.core.records.keys import ApiKeyRecord

keys_app = typer.Typer(no_args_is_help=True)
KeyArgument = Annotated[
    str, typer.Argument(help="Key id (or the start of just one), or the whole key.")
]


@keys_app.callback()
def keys_target(
    ctx: typer.Context,
    local: LocalOption = False,
    stack: StackOption = None,
    table: TableOption = None,
    usage_table: UsageTableOption = None,
    ledger_table: LedgerTableOption = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    port: PortOption = None,
    currency: CurrencyOption = "usd",
) -> None:
    """Create, list, show, top up, adjust and revoke API keys of the deployment named by one
    option."""
    ctx.obj = Target(local, stack, table, usage_table, ledger_table, state_dir, port, currency)


CapOption = Annotated[
    str | None,
    typer.Option(help="Spend limit per UTC day or month, e.g. 5.00; 'none' lifts it."),
]


def cap_of(text: str | None) -> int | None:
    from handler.money.ledger import typed_amount

    return None if text is None or text.lower() == "none" else typed_amount(text, param="cap")


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="What the key is for.")],
    balance: Annotated[
        str, typer.Option(help="Prepaid balance in the deployment's currency, e.g. 25.00.")
    ] = "0.00",
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
        str | None, typer.Option(help="Last day the key works, YYYY-MM-DD (UTC): today or later.")
    ] = None,
    daily_cap: CapOption = None,
    monthly_cap: CapOption = None,
    as_json: AsJson = False,
) -> None:
    """Create a key. Its plaintext is printed once and stored nowhere."""
    from handler.money.ledger import typed_amount

    # A last day already past would make a key refused from its first request: surely a typo.
    expires_at = day_start(expires, "--expires") + 86_400 if expires else None
    if expires_at is not None and expires_at <= time.time():
        raise typer.BadParameter(
            f"{expires} is past: the key would be expired from the start.", param_hint="--expires"
        )
    with reported():
        policy = KeyPolicy(
            requests_per_minute=rpm,
            images_per_minute=ipm,
            models=frozenset(model) if model else None,
            expires_at=expires_at,
            daily_spend_cap=cap_of(daily_cap),
            monthly_spend_cap=cap_of(monthly_cap),
        )
        opening = typed_amount(balance, param="balance")
        issued = ctx.obj.key_admin().create(operator(), name, policy, balance=opening, source="cli")
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
        money = ctx.obj.money().fitting(r.balance for r in records)
    key_id = Column["ApiKeyRecord"]("key id", lambda r: r.key_id)
    name = Column["ApiKeyRecord"]("name", lambda r: r.name, prose=True)
    status = Column["ApiKeyRecord"]("status", status_of)
    balance = Column["ApiKeyRecord"]("balance", lambda r: money(r.balance), right=True)
    per_minute = Column["ApiKeyRecord"](
        "rpm/ipm",
        lambda r: f"{r.policy.requests_per_minute}/{r.policy.images_per_minute}",
        right=True,
    )
    models = Column["ApiKeyRecord"]("models", _models, prose=True)
    created = Column["ApiKeyRecord"]("created (UTC)", lambda r: utc(r.created_at))
    created_on = Column["ApiKeyRecord"]("created", lambda r: utc(r.created_at)[:10])
    print_table(
        [
            [key_id, name, status, balance, per_minute, models, created],
            [key_id, name, status, balance, per_minute, created_on],
            [key_id, name, status, balance],
        ],
        records,
    )


@keys_app.command("show")
def keys_show(ctx: typer.Context, key: KeyArgument, as_json: AsJson = False) -> None:
    """One key: status, balance, spend, limits, open reservations."""
    from handler.core.errors import NotFound

    with reported():
        key_id = ctx.obj.key_id(key)
        record = ctx.obj.key_store().get(key_id)
        if record is None:
            raise NotFound(f"No API key with id {key_id}.")
        if as_json:
            typer.echo(json.dumps(_key_json(record)))
            return
        money = ctx.obj.money()
    _show(record, money)
    if status_of(record) == "expired":
        err.print(f"[yellow]warning:[/] this key expired {utc(record.policy.expires_at or 0)} UTC.")


def _show(record: "ApiKeyRecord", money: Money) -> None:
    from rich.console import Console
    from rich.table import Table

    policy = record.policy
    amounts = (record.funds.balance, record.spent, policy.daily_spend_cap, policy.monthly_spend_cap)
    money = money.fitting(amounts)
    fields = {
        "key id": record.key_id,
        "name": record.name,
        "status": status_of(record),
        "balance": money(record.funds.balance),
        "spent": money(record.spent),
        "requests per minute": str(policy.requests_per_minute),
        "images per minute": str(policy.images_per_minute),
        "models": _models(record),
        "expires": _at(policy.expires_at),
        "daily spend cap": "-" if policy.daily_spend_cap is None else money(policy.daily_spend_cap),
        "monthly spend cap": (
            "-" if policy.monthly_spend_cap is None else money(policy.monthly_spend_cap)
        ),
        "created": _at(record.created_at),
        "revoked": _at(record.revoked_at),
        "open reservations": str(len(record.funds.open_reservations)),
    }
    view = Table(show_header=False)
    for field, value in fields.items():
        view.add_row(field, value)
    Console().print(view)


def _key_json(record: "ApiKeyRecord") -> dict[str, object]:
    """Money in micro-units and times in unix seconds, as the admin API gives them."""
    policy = record.policy
    return {
        "key_id": record.key_id,
        "name": record.name,
        "status": status_of(record),
        "balance": record.funds.balance,
        "spent": record.spent,
        "requests_per_minute": policy.requests_per_minute,
        "images_per_minute": policy.images_per_minute,
        "models": sorted(policy.models) if policy.models else None,
        "expires_at": policy.expires_at,
        "daily_spend_cap": policy.daily_spend_cap,
        "monthly_spend_cap": policy.monthly_spend_cap,
        "created_at": record.created_at,
        "revoked_at": record.revoked_at,
        "open_reservations": len(record.funds.open_reservations),
    }


def status_of(record: "ApiKeyRecord") -> str:
    expires_at = record.policy.expires_at
    if record.status == "active" and expires_at is not None and expires_at <= time.time():
        return "expired"
    return record.status


def _models(record: "ApiKeyRecord") -> str:
    return ", ".join(sorted(record.policy.models)) if record.policy.models else "all"


def _at(timestamp: int | None) -> str:
    return "-" if timestamp is None else f"{utc(timestamp)} UTC"
