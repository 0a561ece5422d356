"""What this deployment offers: the catalog's models whose backend can run them now."""

from collections.abc import Mapping
from dataclasses import dataclass

from handler.core.catalog import Catalog, CatalogModel
from handler.ports.backends import InferenceBackend


@dataclass(frozen=True, slots=True)
class Offering:
    catalog: Catalog
    backends: Mapping[str, InferenceBackend]

    def models(self) -> list[CatalogModel]:
        """Every name a request may use now: each model served, and its aliases."""
        return [
            model for model in self.catalog.names() if self._served(model) and not model.shut_down()
        ]

    def model(self, model_id: str | None) -> CatalogModel:
        """The model a name (None: the default) runs now; a catalog model this deployment
        cannot run is refused with the backend's reason, the same on every route."""
        model = self.catalog.get(model_id)
        unserved = self.backends[model.backend].unserved(model)
        if unserved is not None:
            raise unserved
        return model

    def _served(self, model: CatalogModel) -> bool:
        return self.backends[model.backend].unserved(model) is None
