"""One line per check, and how the lines read on an 80-column terminal."""

import textwrap
from dataclasses import dataclass
from enum import StrEnum

WIDTH = 80
_INDENT = " " * 6  # under the message, past the status column


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"  # worth knowing; the deploy and the models it serves still work
    FAIL = "FAIL"  # the deploy, or something it is set up to do, would fail


@dataclass(frozen=True)
class Finding:
    status: Status
    check: str
    message: str
    fix: str | None = None


def ok(check: str, message: str) -> Finding:
    return Finding(Status.OK, check, message)


def warn(check: str, message: str, fix: str | None = None) -> Finding:
    return Finding(Status.WARN, check, message, fix)


def unchecked(check: str, exc: Exception) -> Finding:
    """A check AWS did not answer (no permission to ask, say): said, but no failure."""
    return warn(check, f"not checked: {exc} ({exc.__cause__})")


def fail(check: str, message: str, fix: str) -> Finding:
    return Finding(Status.FAIL, check, message, fix)


def render(findings: list[Finding]) -> str:
    """Each finding wrapped at 80 columns: the status, the check and what was found, then the
    fix on lines of its own, indented under the message."""
    lines: list[str] = []
    for finding in findings:
        head = f"{finding.status.value:<6}{finding.check}: {finding.message}"
        lines += _wrap(head, "", _INDENT)
        if finding.fix:
            lines += _wrap(f"fix: {finding.fix}", _INDENT, _INDENT + " " * 5)
    return "\n".join(lines)


def _wrap(text: str, first: str, others: str) -> list[str]:
    # An ARN, a command or a name is never split: it is copied from here.
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=others,
        break_long_words=False,
        break_on_hyphens=False,
    )


def failed(findings: list[Finding]) -> bool:
    return any(finding.status is Status.FAIL for finding in findings)
