"""Dependencies the routes declare; each defaults to the process-wide adapter."""

from typing import Annotated

from fastapi import Depends, Request

from handler import container
from handler.core.auth import authenticate
from handler.core.catalog import Catalog
from handler.core.generation import GenerationService
from handler.core.ports import ApiKeyRecord, KeyStore


def get_catalog() -> Catalog:
    return container.catalog()


def get_key_store() -> KeyStore:
    return container.key_store()


def get_generation_service() -> GenerationService:
    return container.generation_service()


def get_request_id(request: Request) -> str:
    request_id: str = request.state.request_id
    return request_id


def get_api_key(
    request: Request, keys: Annotated[KeyStore, Depends(get_key_store)]
) -> ApiKeyRecord:
    return authenticate(request.headers.get("authorization"), keys)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
GenerationServiceDep = Annotated[GenerationService, Depends(get_generation_service)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
ApiKeyDep = Annotated[ApiKeyRecord, Depends(get_api_key)]
