"""StreamFunction: the generating routes, streamed. API Gateway invokes it with response
streaming; the Lambda Web Adapter (an AWS extension) forwards each invocation to uvicorn
(``infra/web-adapter/run.sh``), which serves ``stream_app`` and streams its answer back.

Its init phase is uvicorn's start and the app's, up to the adapter's readiness check
(``GET /health``); each route module and service is made by the first request that needs it,
or by the init phase where that is snapshotted or provisioned."""

from typing import Any

from handler.api.lazy_routes import include_all
from handler.api.web_adapter import FromWebAdapter
from handler.main import phases, serving
from handler.streamed_app import create_streamed_app


def stream_app() -> Any:
    """The app uvicorn serves (``--factory``)."""
    app = create_streamed_app(lazy=not phases.complete())
    if phases.complete():
        include_all(app)
    return FromWebAdapter(app)


def warm(everything: bool) -> None:
    if everything:
        serving.make_everything()


phases.start(warm)
