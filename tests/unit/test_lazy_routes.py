"""An app whose route modules wait for their first request answers every request as the app
with every module included from the start does, and includes a module only when a request
asks for one of its paths."""

import pytest
from fastapi.testclient import TestClient

from handler.admin_app import ADMIN, create_admin_app
from handler.api.lazy_routes import LazyRoutes, RouteModule
from handler.app import PUBLIC, create_app
from handler.member_app import MEMBER, create_member_app
from handler.streamed_app import STREAMED

# Paths of every kind: routes of several modules, a path parameter, a near miss, the wrong
# method, a path no module has, the console's catch-all, the documents FastAPI serves.
REQUESTS = [
    ("GET", "/health"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/imagegate-preview"),
    ("GET", "/v1/models/"),
    ("GET", "/v1/images/generations"),
    ("POST", "/v1/images/generations"),
    ("POST", "/v1/images/edits"),
    ("GET", "/v1/images/jobs/imgjob_1"),
    ("DELETE", "/v1/batches/batch_1"),
    ("GET", "/v1/usage"),
    ("POST", "/webhooks/stripe"),
    ("GET", "/v1/nothing"),
    ("GET", "/console"),
    ("GET", "/console/console.css"),
    ("GET", "/openapi.json"),
    ("GET", "/admin/v1/keys"),
]


def _answers(client: TestClient) -> list[tuple[int, bytes]]:
    return [(r.status_code, r.content) for r in (client.request(m, p) for m, p in REQUESTS)]


@pytest.mark.parametrize("build", [create_app, create_admin_app, create_member_app])
def test_a_lazy_app_answers_as_the_app_built_whole(build: object) -> None:
    assert callable(build)
    whole = TestClient(build(), raise_server_exceptions=False, follow_redirects=False)
    lazy = TestClient(build(lazy=True), raise_server_exceptions=False, follow_redirects=False)
    assert _answers(lazy) == _answers(whole)


def test_a_module_is_included_only_when_a_request_asks_for_one_of_its_paths() -> None:
    app = create_app(lazy=True)
    waiting = [route for route in app.router.routes if isinstance(route, LazyRoutes)]
    assert len(waiting) == len(PUBLIC)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/health").status_code == 200
    assert client.get("/v1/nothing").status_code == 404  # no module's path: none included
    included = [route for route in waiting if route not in app.router.routes]
    assert [route.module for route in included] == [
        module for module in PUBLIC if "/health" in module.paths
    ]


@pytest.mark.parametrize("module", [*PUBLIC, *ADMIN, *MEMBER, *STREAMED])
def test_a_modules_paths_are_its_routes_paths(module: RouteModule) -> None:
    declared = tuple(dict.fromkeys(route.path for route in module.load().routes))  # type: ignore[attr-defined]
    assert module.paths == declared
