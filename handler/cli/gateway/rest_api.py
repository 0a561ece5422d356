"""What ``template.yaml`` declares of the REST API: its stage, binary media types, routes
(the functions' ``Api`` events) and gateway responses."""

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from handler.cli.template import Template


@dataclass(frozen=True)
class Route:
    """One ``Api`` event of a function: a resource path and a method."""

    resource: str  # "/", "/v1/models/{id}", "/{proxy+}"
    method: str  # "ANY" or a verb
    function: str
    handler: str
    function_timeout_seconds: int
    memory_mb: int
    integration_timeout_ms: int
    authorization: str = "NONE"  # or "AWS_IAM": SigV4-signed requests only
    # ResponseTransferMode RESPONSE_STREAM: the function's web app (its IMAGEGATE_WEB_APP,
    # behind the Lambda Web Adapter) answers, streamed; else ``handler``, buffered.
    web_app: str | None = None

    @property
    def streams(self) -> bool:
        return self.web_app is not None

    def match(self, path: str, method: str) -> dict[str, str] | None:
        """The path parameters when the route takes ``path`` and ``method``, else None."""
        if self.method not in ("ANY", method):
            return None
        pattern = "".join(
            _segment_pattern(part) for part in re.split(r"(\{[^}]+\})", self.resource) if part
        )
        found = re.fullmatch(pattern, path)
        if found is None:
            return None
        return found.groupdict()

    @property
    def specificity(self) -> tuple[int, int]:
        """API Gateway prefers literal paths to parameters, and parameters to greedy ones."""
        return ("+}" not in self.resource, self.resource.count("/"))


def _web_app(template: Template, function: str, event: dict[str, object]) -> str | None:
    """A streamed route's web app, as the function's run.sh starts it."""
    if event.get("ResponseTransferMode") != "RESPONSE_STREAM":
        return None
    props = template.body["Resources"][function]["Properties"]
    app = props.get("Environment", {}).get("Variables", {}).get("IMAGEGATE_WEB_APP")
    if not isinstance(app, str):
        raise ValueError(f"{function} streams, and names no IMAGEGATE_WEB_APP to serve")
    return app


def _segment_pattern(part: str) -> str:
    if part.startswith("{") and part.endswith("+}"):
        return f"(?P<{part[1:-2]}>.+)"
    if part.startswith("{"):
        return f"(?P<{part[1:-1]}>[^/]+)"
    return re.escape(part)


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None
    headers: dict[str, str]  # as mapped: "'false'" (static), or "context.requestId"
    template: str | None

    def header_values(self, request_id: str) -> list[tuple[str, str]]:
        return [(name, _mapped(value, request_id)) for name, value in self.headers.items()]


def _mapped(value: str, request_id: str) -> str:
    """A header mapping's value, as API Gateway fills it in (the ones the template uses)."""
    if value.startswith("'") and value.endswith("'"):
        return value[1:-1]
    if value == "context.requestId":
        return request_id
    raise ValueError(f"the local gateway does not map {value!r}")


@dataclass(frozen=True)
class RestApi:
    """What ``template.yaml`` declares of the REST API and the functions behind it."""

    stage: str
    binary_media_types: tuple[str, ...]
    routes: tuple[Route, ...]
    responses: dict[str, GatewayResponse]

    @classmethod
    def from_template(cls, template: Template, api: str = "Api") -> "RestApi":
        props = template.body["Resources"][api]["Properties"]
        names: dict[str, str] = {}
        routes = []
        for function, function_props in template.resources("AWS::Serverless::Function").items():
            for event in function_props.get("Events", {}).values():
                settings = event["Properties"]
                if event["Type"] != "Api" or settings.get("RestApiId") != {"Ref": api}:
                    continue
                timeout = template.function_property(function, "Timeout")
                memory = template.function_property(function, "MemorySize")
                routes.append(
                    Route(
                        resource=settings["Path"],
                        method=settings["Method"].upper(),
                        function=function,
                        handler=function_props["Handler"],
                        function_timeout_seconds=int(template.resolve(timeout or 3, names)),
                        memory_mb=int(template.resolve(memory or 128, names)),
                        integration_timeout_ms=int(
                            template.resolve(settings.get("TimeoutInMillis", 29000), names)
                        ),
                        authorization=str(settings.get("Auth", {}).get("Authorizer", "NONE")),
                        web_app=_web_app(template, function, settings),
                    )
                )
        responses = {
            kind: GatewayResponse(
                status=int(spec["StatusCode"]) if "StatusCode" in spec else None,
                headers=dict(spec.get("ResponseParameters", {}).get("Headers", {})),
                template=spec.get("ResponseTemplates", {}).get("application/json"),
            )
            for kind, spec in props.get("GatewayResponses", {}).items()
        }
        return cls(
            stage=template.resolve(props["StageName"], names),
            # SAM spells "/" as "~1" in BinaryMediaTypes (they become OpenAPI keys).
            binary_media_types=tuple(
                str(kind).replace("~1", "/").lower() for kind in props.get("BinaryMediaTypes", [])
            ),
            routes=tuple(sorted(routes, key=lambda route: route.specificity, reverse=True)),
            responses=responses,
        )

    def is_binary(self, media_type: str | None) -> bool:
        if not media_type:
            return False
        bare = media_type.split(";", 1)[0].strip().lower()
        return any(fnmatchcase(bare, pattern) for pattern in self.binary_media_types)

    def route(self, path: str, method: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            parameters = route.match(path, method)
            if parameters is not None:
                return route, parameters
        return None
