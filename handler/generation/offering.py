"""What this deployment offers: the catalog's models one of whose placements can run them
now."""

from collections.abc import Mapping
from dataclasses import dataclass

from handler.core.catalog import Catalog, CatalogModel
from handler.core.errors import BackendNotConfigured
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
        unserved = self._unserved(model)
        if unserved is not None:
            raise unserved
        return model

    def _served(self, model: CatalogModel) -> bool:
        return self._unserved(model) is None

    def _unserved(self, model: CatalogModel) -> BackendNotConfigured | None:
        """Why none of the model's placements can run it (the first one's reason), or None:
        served while one of them can."""
        reasons = []
        for placement in model.placements:
            reason = self.backends[placement.backend].unserved(model.at(placement))
            if reason is None:
                return None
            reasons.append(reason)
        return reasons[0]
