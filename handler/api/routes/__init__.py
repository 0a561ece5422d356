"""All routers and their prefixes, in the order requests are matched against them: the public
app's, the admin app's and the members' (each a function and role of its own, so the public
one cannot make keys).

Each is included in the app directly: FastAPI matches an included router by asking each of
its routers in turn, twice (to choose, then to handle), so a router of routers doubles the
matching, and the generation routes, whose every request is paid for, come first.
"""

from fastapi import APIRouter

from handler.api.routes import (
    account,
    admin,
    admin_accounts,
    admin_moderation,
    batches,
    billing,
    console,
    edits,
    health,
    images,
    models,
    sign_in,
    stripe_events,
    usage,
    variations,
)

ROUTERS: list[tuple[APIRouter, str]] = [
    (images.router, "/v1"),
    (edits.router, "/v1"),
    (variations.router, "/v1"),
    (models.router, "/v1"),
    (usage.router, "/v1"),
    (batches.router, "/v1"),
    (billing.router, "/v1"),
    (stripe_events.router, ""),
    (health.router, ""),
    (console.router, ""),
]

ADMIN_ROUTERS: list[tuple[APIRouter, str]] = [
    (admin.router, "/admin/v1"),
    (admin_accounts.router, "/admin/v1"),
    (admin_moderation.router, "/admin/v1"),
]

MEMBER_ROUTERS: list[tuple[APIRouter, str]] = [(sign_in.router, "/v1"), (account.router, "/v1")]
