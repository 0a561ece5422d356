"""What this deployment offers: the catalog's models whose backend can run them now."""

from collections.abc import Mapping
from dataclasses import dataclass

from handler.core.catalog import Catalog, CatalogModel
from handler.core.errors import ModelNotFound
from handler.core.inference import InferenceBackend


@dataclass(frozen=True, slots=True)
class Offering:
    catalog: Catalog
    backends: Mapping[str, InferenceBackend]

    def models(self) -> list[CatalogModel]:
        """Every name a request may use now: each model served, and its aliases."""
        return [
            model for model in self.catalog.names() if self._served(model) and not model.shut_down()
        ]

    def model(self, model_id: str) -> CatalogModel:
        model = self.catalog.get(model_id)
        if not self._served(model):
            raise ModelNotFound(model_id)
        return model

    def _served(self, model: CatalogModel) -> bool:
        return self.backends[model.backend].serves(model)
