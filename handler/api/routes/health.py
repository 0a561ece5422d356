from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = "ok"


@router.get("/health")
async def health() -> Health:
    """Liveness only: no key, no AWS call."""
    return Health()
