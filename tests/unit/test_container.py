"""container.reset() forgets every cached object of the package, whoever adds one."""

import functools
import importlib
import pkgutil
from typing import Any

import handler
from handler import container


def _caches() -> dict[str, Any]:
    """Every ``functools.cache`` defined in a module of the package, by qualified name."""
    found = {}
    for info in pkgutil.walk_packages(handler.__path__, "handler."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, functools._lru_cache_wrapper) and value.__module__ == info.name:
                found[f"{info.name}.{name}"] = value
    return found


def test_reset_empties_every_cache_in_the_package() -> None:
    caches = _caches()
    # Given caches filled (settings, catalog, clients: what a request makes)
    container.catalog()
    container.key_store()
    assert any(cache.cache_info().currsize for cache in caches.values())
    # When the container is reset
    container.reset()
    # Then not one keeps anything
    assert {
        name: c.cache_info().currsize for name, c in caches.items() if c.cache_info().currsize
    } == {}
    assert "handler.main.webhook.webhook_sender" in caches  # found without being listed anywhere
