"""Schema-driven fuzzing of the HTTP API (schemathesis): no input makes the server fail (5xx)."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: the served models a generated ``name`` is replaced by, 3 times in 4 (so the fuzzed bodies
#: reach real models, not only the 404 of unknown names)
TARGETS = {"predict": ("xl", "t2t"), "complete": ("qac",), "search": ("ret",),
           "reload": ("qac",)}


@pytest.fixture(scope="module")
def api(model_dirs):
    from starlette.testclient import TestClient

    from xmr.serve import ServeConfig, create_app

    app = create_app(dict(model_dirs), ServeConfig(max_body_bytes=64 * 1024, max_batch=8,
                                                   max_features=64, max_top_k=50),
                     background_load=False)
    with TestClient(app):  # runs the lifespan: the models are loaded
        yield app


def _fuzz(operation, names, failures: list, counts: dict) -> None:
    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), pick=st.integers(0, 3))
    def run(case, pick):
        if names and pick < 3 and case.path_parameters and "name" in case.path_parameters:
            case.path_parameters["name"] = names[pick % len(names)]
        response = case.call()
        counts[response.status_code // 100] = counts.get(response.status_code // 100, 0) + 1
        if response.status_code >= 500:
            failures.append((case.method, case.formatted_path, case.body, response.status_code,
                             response.text[:200]))

    run()


def test_no_generated_request_fails_the_server(api):
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    failures: list = []
    counts: dict = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        parts = operation.path.split("/")  # /v1/models/{name}/<action>[/batch]
        names = TARGETS.get(parts[4]) if len(parts) > 4 else None
        _fuzz(operation, names, failures, counts)
    assert failures == []
    assert counts.get(2, 0) > 50 and counts.get(4, 0) > 50  # both kinds of answers reached
