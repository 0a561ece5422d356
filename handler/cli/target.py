"""What the ``keys``, ``usage`` and ``billing`` commands act on, and how they report failures."""

import calendar
import datetime as dt
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from handler.cli.local import LocalStack
from handler.cli.local_stacks import StackNotFound, find_stack
from handler.cli.views import Money
from handler.core.errors import ApiError, InvalidRequest, NotFound
from handler.core.keys import parse_key

if TYPE_CHECKING:  # the stores are imported when a command reaches for them
    from handler.keys.admin import KeyAdmin
    from handler.ports.charges import ChargeStore
    from handler.ports.keys import KeyStore
    from handler.ports.ledger import Entries

err = Console(stderr=True)
KEY_ID_LENGTH = 16

StateDir = Annotated[
    Path, typer.Option(help="Where the local stack keeps its coordinates and dev key.")
]
PortOption = Annotated[
    int | None,
    typer.Option(help="The local stack serving the API on this port, where several run."),
]
CurrencyOption = Annotated[
    str,
    typer.Option(
        envvar="IMAGEGATE_CARD_CURRENCY",
        help="The currency of a deployment named by --table (its CardCurrency); --local and "
        "--stack know theirs.",
    ),
]


@contextmanager
def reported() -> Iterator[None]:
    """An operator sees one line saying what went wrong, not a traceback."""
    try:
        yield
    except (ApiError, FileNotFoundError, StackNotFound) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


def local_stack(state_dir: Path, port: int | None) -> LocalStack:
    """The local stack a command is pointed at, said on stderr (stdout is the command's)."""
    path, stack = find_stack(state_dir, port)
    err.print(f"[dim]Local stack at {stack.api_base_url} ({path}).[/]")
    return stack


@dataclass(frozen=True)
class Target:
    """Which deployment a command acts on; resolved only when a command needs it."""

    local: bool
    stack: str | None
    table: str | None
    usage_table: str | None
    ledger_table: str | None
    state_dir: Path
    port: int | None = None
    currency: str = "usd"  # a --table deployment's; --local and --stack know their own

    def money(self) -> Money:
        """How this deployment's amounts are written: in its own currency."""
        if self._is_local:
            from handler.config import get_settings

            return Money(get_settings().card_currency)
        if self.stack is not None:
            from handler.cli.stacks import stack_parameters

            return Money(stack_parameters(self.stack).get("CardCurrency", "usd"))
        return Money(self.currency)

    def key_id(self, given: str) -> str:
        """The key id ``given`` names: a whole key, a key id, or the start of just one."""
        key_id = parse_key(given).key_id if given.startswith("ig_") else given
        if len(key_id) == KEY_ID_LENGTH:
            return key_id
        starting = sorted(r.key_id for r in self.key_store().list() if r.key_id.startswith(key_id))
        if not starting:
            raise NotFound(f"No API key id starts with {key_id!r}.")
        if len(starting) > 1:
            raise InvalidRequest(
                f"{key_id!r} starts {len(starting)} key ids ({', '.join(starting)}): "
                "give more of it."
            )
        return starting[0]

    def key_store(self) -> "KeyStore":
        from handler import container
        from handler.money.stored.keys import DynamoDBKeyStore

        if self._is_local:
            return container.key_store()
        return DynamoDBKeyStore(self._keys_table(), self._ledger_table())

    def key_admin(self) -> "KeyAdmin":
        """The operators' rules, on the stores this target names (the catalog's models are
        checked by the local stack, taken as given on a deployment's tables)."""
        from handler import accounts_container
        from handler.keys.admin import KeyAdmin
        from handler.money.stored.key_changes import DynamoDBKeyChanges

        if self._is_local:
            return accounts_container.key_admin()
        changes = DynamoDBKeyChanges(self._keys_table(), self._ledger_table())
        return KeyAdmin(self.key_store(), changes, self.entries(), None)

    def entries(self) -> "Entries":
        from handler import container
        from handler.money.stored.entries import DynamoDBEntries

        if self._is_local:
            return container.entries()
        return DynamoDBEntries(self._keys_table(), self._ledger_table())

    def charge_store(self) -> "ChargeStore":
        from handler import container
        from handler.money.stored.charges import DynamoDBChargeStore

        if self._is_local:
            return container.charge_store()
        return DynamoDBChargeStore(
            self._keys_table(),
            self._table("UsageTableName", self.usage_table, "--usage-table"),
            self._ledger_table(),
        )

    def _keys_table(self) -> str:
        return self._table("KeysTableName", self.table, "--table")

    def _ledger_table(self) -> str:
        return self._table("LedgerTableName", self.ledger_table, "--ledger-table")

    @cached_property
    def _is_local(self) -> bool:
        if sum((self.local, self.stack is not None, self.table is not None)) != 1:
            raise typer.BadParameter(
                "Say which deployment: --local | --stack NAME | --table NAME "
                "--ledger-table NAME [--usage-table NAME]"
            )
        if self.local:
            local_stack(self.state_dir, self.port).activate()
        return self.local

    def _table(self, output: str, given: str | None, option: str) -> str:
        if self.stack is None:
            if given is None:
                raise typer.BadParameter(f"With --table, name this table too: {option}")
            return given
        from handler.cli.stacks import stack_outputs

        outputs = stack_outputs(self.stack)
        if output not in outputs:
            raise typer.BadParameter(f"Stack {self.stack} has no {output} output.")
        return outputs[output]


LocalOption = Annotated[bool, typer.Option("--local", help="The running local stack.")]
StackOption = Annotated[
    str | None, typer.Option(help="A deployed stack, by name (standard AWS configuration).")
]
TableOption = Annotated[str | None, typer.Option(help="A keys table, by name.")]
UsageTableOption = Annotated[str | None, typer.Option(help="A usage table, with --table.")]
LedgerTableOption = Annotated[str | None, typer.Option(help="A ledger table, with --table.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def operator() -> str:
    """Who runs a command, as the ledger names them."""
    return f"cli:{getpass.getuser()}"


def day_start(day: str, option: str) -> int:
    try:
        parsed = dt.date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not a YYYY-MM-DD day.", param_hint=option) from None
    return calendar.timegm(parsed.timetuple())
