"""All routers, aggregated under their prefixes."""

from fastapi import APIRouter

from handler.api.routes import (
    admin,
    batches,
    billing,
    console,
    edits,
    health,
    images,
    models,
    stripe_events,
    usage,
)

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(console.router)
api_router.include_router(images.router, prefix="/v1")
api_router.include_router(edits.router, prefix="/v1")
api_router.include_router(models.router, prefix="/v1")
api_router.include_router(usage.router, prefix="/v1")
api_router.include_router(batches.router, prefix="/v1")
api_router.include_router(billing.router, prefix="/v1")
api_router.include_router(stripe_events.router)
api_router.include_router(admin.router, prefix="/admin/v1")
