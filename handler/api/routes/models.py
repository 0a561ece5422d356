from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from handler.api.deps import ApiKeyDep
from handler.api.errors import ERROR_RESPONSES
from handler.api.work_deps import OfferingDep
from handler.core.catalog import CatalogModel
from handler.core.model_card import ModelCard

router = APIRouter(tags=["models"])


class ModelInfo(ModelCard):
    """OpenAI's model object, plus what a client needs to build a valid request. An alias is
    listed under its own name, with its own rules, and names the model it runs."""

    object: Literal["model"] = "model"
    alias_of: Annotated[str | None, Field(description="the model this name runs")] = None

    @classmethod
    def of(cls, model: CatalogModel) -> "ModelInfo":
        card = model.model_dump(include=set(ModelCard.model_fields))
        if model.called is not None:
            card.update(id=model.called, alias_of=model.id)
        return cls.model_validate(card)


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelInfo]


@router.get("/models", responses=ERROR_RESPONSES)
def list_models(offering: OfferingDep, _: ApiKeyDep) -> ModelList:
    """The models this deployment can run now (their backend configured and deployed)."""
    return ModelList(data=[ModelInfo.of(model) for model in offering.models()])


@router.get("/models/{model_id:path}", responses=ERROR_RESPONSES)
def get_model(model_id: str, offering: OfferingDep, _: ApiKeyDep) -> ModelInfo:
    if not model_id:  # "/v1/models/": a near miss of the list, not a model
        raise HTTPException(status_code=404)
    return ModelInfo.of(offering.model(model_id))
