"""What the functions that generate (the API, the streaming function, the worker) make in an
init phase that makes everything: the catalog's backends, each with its module and SDK, and
the services requests and queued work run on. Nothing is called over the network."""

from handler import generation_container, work_container


def make_everything() -> None:
    backends = generation_container.backends()
    for name in backends:
        backends[name]
    generation_container.generation_service()
    work_container.async_jobs()
    work_container.batches()
    work_container.work_reader()
