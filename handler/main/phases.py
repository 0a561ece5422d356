"""Lambda's init phase and SnapStart's restore, as every function's module runs them.

In Lambda, importing a function's module is its init phase. Where each cold start pays for it
(``on-demand``), the init phase makes what every first invocation of the function needs and
no more: what a particular request needs (one route module of forty, one backend of four) is
made by the first request that needs it, once. Where the init phase is paid once for many cold
starts (a SnapStart snapshot, ``snap-start``, or provisioned concurrency) it makes everything
the function may use, so no invocation makes any of it. A failure is logged, not raised: the
first invocation meets it again and answers with it.

A copy restored from a snapshot renews what copies of one snapshot must not share (random
state, clients with their connections, credentials and clocks); the app, the catalog and the
imported modules are kept.
"""

import gc
import random
from collections.abc import Callable, Collection
from functools import partial

from handler.aws.clients import forget_sessions
from handler.caches import reset
from handler.config import lambda_runtime
from handler.observability import logger

# What a function's init phase makes: everything (True) or what any first invocation needs.
Warm = Callable[[bool], None]
# Initialization types whose init phase is paid once for many cold starts.
SNAPSHOTTED = ("snap-start", "provisioned-concurrency")


def complete() -> bool:
    """Whether this init phase makes everything the function may use (snapshotted or
    provisioned), or only what its first invocation needs (on-demand, and outside Lambda)."""
    return lambda_runtime().initialization_type in SNAPSHOTTED


def start(warm: Warm, keep: Collection[object] = ()) -> None:
    """The init phase, in Lambda only: ``warm``, and the restore hook where the runtime offers
    one (``keep``: the caches a restored copy keeps). What it made, the modules with it, lives
    as long as the process: frozen, the garbage collector, paused since the init phase began
    (``handler/main/__init__.py``), never walks it again."""
    if not lambda_runtime().in_lambda:
        return
    initialize(warm)
    register_restore_hook(partial(after_restore, warm, keep))
    gc.freeze()
    gc.enable()


def initialize(warm: Warm) -> None:
    try:
        warm(complete())
    except Exception:  # noqa: BLE001 - whatever it is, the first request reports it
        logger.exception("initialization failed; requests will report it")


def after_restore(warm: Warm, keep: Collection[object]) -> None:
    """SnapStart restored this copy of the snapshot, as it did others: each draws its own
    random sequence and makes its own clients; the caches in ``keep`` are kept."""
    random.seed()
    forget_sessions()  # the default session's credentials, resolved before the snapshot
    reset(keep=keep)
    try:
        warm(True)
    except Exception:  # noqa: BLE001 - as at init: the first request reports it
        logger.exception("warming after restore failed; requests will report it")


def register_restore_hook(hook: Callable[[], None]) -> None:
    try:
        from snapshot_restore_py import register_after_restore  # in Lambda's Python runtimes
    except ImportError:
        return
    register_after_restore(hook)
