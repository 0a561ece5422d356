"""``imagegate keys topup``, ``adjust``, ``update``, ``rotate`` and ``revoke``: a key's money,
limits and secret."""

from typing import TYPE_CHECKING, Annotated

import typer

from handler.cli.keys import CapOption, KeyArgument, cap_of, keys_app, show_issued, status_of
from handler.cli.target import AsJson, err, operator, reported

if TYPE_CHECKING:
    from handler.cli.views import Money
    from handler.core.records.keys import ApiKeyRecord

ReasonOption = Annotated[str | None, typer.Option(help="Why, for the key's ledger.")]


@keys_app.command("topup")
def keys_topup(
    ctx: typer.Context,
    key: KeyArgument,
    amount: Annotated[str, typer.Argument(help="In the deployment's currency, e.g. 10.00.")],
    reason: ReasonOption = None,
) -> None:
    """Add AMOUNT to a key's balance: a top-up in its ledger."""
    from handler.money.ledger import typed_amount

    with reported():
        micros = typed_amount(amount)
        key_id = ctx.obj.key_id(key)
        record = ctx.obj.key_admin().move("topup", operator(), key_id, micros, reason, source="cli")
        _posted(record, "topup", micros, ctx.obj.money())


@keys_app.command("adjust")
def keys_adjust(
    ctx: typer.Context,
    key: KeyArgument,
    amount: Annotated[str, typer.Argument(help="Signed, e.g. -2.50 or 1.00.")],
    reason: Annotated[str, typer.Option(help="Why, for the key's ledger (required).")],
) -> None:
    """Correct a key's balance by a signed AMOUNT: an adjustment in its ledger, with its
    reason. A balance may go below zero; the key then pays nothing until it is funded."""
    from handler.money.ledger import typed_amount

    with reported():
        micros = typed_amount(amount, signed=True)
        key_id = ctx.obj.key_id(key)
        record = ctx.obj.key_admin().move("adjustment", operator(), key_id, micros, reason)
        _posted(record, "adjustment", micros, ctx.obj.money())


def _posted(record: "ApiKeyRecord", kind: str, amount: int, money: "Money") -> None:
    money = money.fitting((amount, record.funds.balance))
    sign = "+" if amount >= 0 else "-"
    err.print(
        f"Key [bold]{record.key_id}[/] ({record.name}): {kind} "
        f"{sign}{money(abs(amount))}, balance {money(record.funds.balance)}."
    )
    status = status_of(record)
    if status != "active":
        err.print(f"[yellow]warning:[/] the key is {status}: it cannot spend this balance.")


@keys_app.command("update")
def keys_update(
    ctx: typer.Context,
    key: KeyArgument,
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests per minute.")] = None,
    ipm: Annotated[int | None, typer.Option(min=1, help="Images per minute.")] = None,
    daily_cap: CapOption = None,
    monthly_cap: CapOption = None,
) -> None:
    """Change a key's limits; a new spend cap counts what its day or month spent already."""
    given = {"requests_per_minute": rpm, "images_per_minute": ipm}
    changes: dict[str, int | None] = {name: value for name, value in given.items() if value}
    with reported():
        for name, text in (("daily_spend_cap", daily_cap), ("monthly_spend_cap", monthly_cap)):
            if text is not None:
                changes[name] = cap_of(text)
        record = ctx.obj.key_admin().update(operator(), ctx.obj.key_id(key), changes)
    err.print(f"Updated key [bold]{record.key_id}[/] ({record.name}).")


@keys_app.command("rotate")
def keys_rotate(
    ctx: typer.Context,
    key: KeyArgument,
    grace: Annotated[
        int, typer.Option(min=0, help="Seconds the old secret still works (up to 7 days).")
    ] = 86_400,
    as_json: AsJson = False,
) -> None:
    """A new secret for the key (same id, balance and policy); the old secret keeps working
    for --grace seconds, so clients can move over."""
    with reported():
        issued = ctx.obj.key_admin().rotate(operator(), ctx.obj.key_id(key), grace)
    show_issued(issued.record.key_id, issued.record.name, issued.plaintext, as_json, "Rotated key")


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key: KeyArgument) -> None:
    """Revoke a key: its next request gets 401."""
    with reported():
        record = ctx.obj.key_admin().revoke(operator(), ctx.obj.key_id(key))
    err.print(f"Revoked key [bold]{record.key_id}[/] ({record.name}).")
