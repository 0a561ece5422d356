"""How the command line shows things: money with its currency, UTC times, and tables that fit
the terminal by choosing their columns, never by cutting an id."""

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

Row = TypeVar("Row")
# A prose column (a name, a reason) may wrap between words, down to this width.
_PROSE_WIDTH = 10


@dataclass(frozen=True)
class Money:
    """The amounts of one view, written ``25.00 USD``: the deployment's currency, and as many
    decimals as the view's most precise amount needs (two at least, six at most), so they line
    up and none is rounded."""

    currency: str
    decimals: int = 2

    def fitting(self, amounts: Iterable[int | None]) -> "Money":
        from handler.core.amounts import decimals_of

        needed = [decimals_of(amount) for amount in amounts if amount is not None]
        return replace(self, decimals=max([self.decimals, *needed]))

    def __call__(self, amount: int) -> str:
        from handler.core.amounts import format_micros

        return f"{format_micros(amount, self.decimals)} {self.currency.upper()}"


def utc(timestamp: float, *, seconds: bool = False) -> str:
    """ISO 8601's date and time, in UTC (which the column or the line names)."""
    return time.strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M", time.gmtime(timestamp)
    )


@dataclass(frozen=True)
class Column(Generic[Row]):
    header: str
    cell: Callable[[Row], str]  # may hold lines: columns merged into one
    prose: bool = False  # wraps between words; ids, amounts and dates never wrap
    right: bool = False  # amounts and counts, aligned on their last digit


def print_table(layouts: Sequence[Sequence[Column[Row]]], rows: Sequence[Row]) -> None:
    """Print ``rows`` in the first of ``layouts`` (widest first) that fits the terminal; where
    none does, the last, with long cells folded onto their next line rather than cut."""
    from rich.console import Console
    from rich.table import Column as RichColumn
    from rich.table import Table

    console = Console()
    fits = [layout for layout in layouts if _width(layout, rows) <= console.width]
    layout = fits[0] if fits else layouts[-1]
    table = Table(
        *(
            RichColumn(
                column.header,
                justify="right" if column.right else "left",
                # Too narrow for any layout: every cell folds, so no character is lost.
                no_wrap=bool(fits) and not column.prose,
                overflow="fold",
                min_width=_PROSE_WIDTH if column.prose and fits else None,
            )
            for column in layout
        )
    )
    for row in rows:
        table.add_row(*(column.cell(row) for column in layout))
    console.print(table)


def _width(layout: Sequence[Column[Row]], rows: Sequence[Row]) -> int:
    """The narrowest the table can be with no id, amount or date cut: each column's widest
    line (a prose column's down to a few words), a space either side and a rule between."""
    total = 1
    for column in layout:
        lines = [column.header, *(line for row in rows for line in column.cell(row).splitlines())]
        widest = max(map(len, lines))
        total += (
            min(widest, max(_PROSE_WIDTH, len(column.header))) if column.prose else widest
        ) + 3
    return total
