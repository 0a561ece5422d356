"""``imagegate keys update`` and ``rotate``: a key's limits and its secret."""

from typing import Annotated

import typer

from handler.cli.keys import CapOption, KeyArgument, cap_of, keys_app, show_issued
from handler.cli.target import AsJson, err, key_id_of, operator, reported
from handler.core.key_admin import MAX_GRACE_SECONDS


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
    given = {
        "requests_per_minute": rpm,
        "images_per_minute": ipm,
        "daily_spend_cap": daily_cap,
        "monthly_spend_cap": monthly_cap,
    }
    changes: dict[str, int | None] = {
        name: value for name, value in given.items() if isinstance(value, int)
    }
    for name, text in (("daily_spend_cap", daily_cap), ("monthly_spend_cap", monthly_cap)):
        if text is not None:
            changes[name] = cap_of(text)
    with reported():
        record = ctx.obj.key_admin().update(operator(), key_id_of(key), changes)
    err.print(f"Updated key [bold]{record.key_id}[/] ({record.name}).")


@keys_app.command("rotate")
def keys_rotate(
    ctx: typer.Context,
    key: KeyArgument,
    grace: Annotated[
        int, typer.Option(min=0, max=MAX_GRACE_SECONDS, help="Seconds the old secret still works.")
    ] = 86_400,
    as_json: AsJson = False,
) -> None:
    """A new secret for the key (same id, balance and policy); the old secret keeps working
    for --grace seconds, so clients can move over."""
    with reported():
        issued = ctx.obj.key_admin().rotate(operator(), key_id_of(key), grace)
    show_issued(issued.record.key_id, issued.record.name, issued.plaintext, as_json, "Rotated key")
