"""Every endpoint and error path of the HTTP service, in-process (Starlette's test client)."""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_operations_endpoints(client, model_dirs):
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    models = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert set(models) == {"xl", "t2t", "ret", "qac"}
    assert models["qac"]["kind"] == "qac" and models["qac"]["format"] == "xmr.qac"
    assert models["ret"]["labels"] == 40 and models["xl"]["labels"] == 60
    assert models["xl"]["version"] == (model_dirs["xl"] / "CURRENT").read_text().strip()
    assert models["t2t"]["load_seconds"] > 0 and models["t2t"]["generation"] == 1
    assert client.get("/v1/models/ret").json()["kind"] == "retrieval"
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.1") and "/v1/models/{name}/complete" in schema["paths"]
    assert "type-ahead" in client.get("/").text


def test_answers_equal_the_library(client, loaded):
    rng = np.random.default_rng(0)
    idx = sorted(rng.choice(80, size=6, replace=False).tolist())
    val = rng.random(6).round(3).tolist()
    got = client.post("/v1/models/xl/predict", json={"indices": idx, "values": val,
                                                      "top_k": 5}).json()
    want = loaded["xl"].predict_one((np.array(idx, np.int32), np.array(val, np.float32)),
                                    top_k=5)
    assert [x["label"] for x in got["labels"]] == want.indices.tolist()
    assert np.allclose([x["score"] for x in got["labels"]], want.scores, atol=1e-6)
    batch = client.post("/v1/models/xl/predict/batch",
                        json={"rows": [{"indices": idx, "values": val}, {"indices": [],
                                                                         "values": []}],
                              "top_k": 5}).json()["results"]
    assert batch[0] == got and len(batch) == 2

    got = client.post("/v1/models/t2t/predict", json={"text": "cordless drill"}).json()
    assert [x["label"] for x in got["labels"]] == [p.id for p in
                                                   loaded["t2t"].predict_one("cordless drill")]
    batch = client.post("/v1/models/t2t/predict/batch",
                        json={"texts": ["cordless drill", ""]}).json()["results"]
    assert batch[0]["labels"] == got["labels"] and batch[1]["labels"] == []

    got = client.post("/v1/models/ret/search", json={"query": "garden hose", "top_k": 3}).json()
    want = loaded["ret"].search("garden hose", top_k=3)
    assert [h["product_id"] for h in got["products"]] == [h.product_id for h in want]
    batch = client.post("/v1/models/ret/search/batch",
                        json={"queries": ["garden hose", "zzz"], "top_k": 3}).json()["results"]
    assert batch[0] == got and len(batch) == 2

    got = client.post("/v1/models/qac/complete", json={"prefix": "g", "previous": "gas grill",
                                                       "top_k": 4}).json()
    want = loaded["qac"].complete("g", "gas grill", 4)
    assert [s["query"] for s in got["suggestions"]] == [s.query for s in want]
    batch = client.post("/v1/models/qac/complete/batch",
                        json={"inputs": [{"prefix": "g", "previous": "gas grill"},
                                         {"prefix": "zz"}], "top_k": 4}).json()["results"]
    assert batch[0] == got
    # only the typed text, bare and with the log's most frequent word ending
    assert sorted(s["query"] for s in batch[1]["suggestions"]) == ["zz", "zz.com"]


BAD = [
    # (path, body or raw bytes, status, field, words in the message)
    ("/v1/models/nope/complete", {"prefix": "g"}, 404, "name", "no model named"),
    ("/v1/models/qac/search", {"query": "g"}, 404, None, "qac model"),
    ("/v1/models/qac/complete", b"{not json", 400, None, "not valid JSON"),
    ("/v1/models/qac/complete", b"\xff\xfe", 400, None, "not valid JSON"),
    ("/v1/models/qac/complete", [1, 2], 400, None, "JSON object"),
    ("/v1/models/qac/complete", {}, 422, "prefix", "missing"),
    ("/v1/models/qac/complete", {"prefix": 3}, 422, "prefix", "string"),
    ("/v1/models/qac/complete", {"prefix": "g" * 1001}, 422, "prefix", "1001 characters"),
    ("/v1/models/qac/complete", {"prefix": "g", "top_k": 0}, 422, "top_k", "in [1,"),
    ("/v1/models/qac/complete", {"prefix": "g", "top_k": True}, 422, "top_k", "integer"),
    ("/v1/models/qac/complete", {"prefix": "g", "topk": 3}, 422, "topk", "unknown field"),
    ("/v1/models/qac/complete/batch", {"inputs": [{"prefix": "g"}] * 9}, 422, "inputs",
     "limit is 8"),
    ("/v1/models/qac/complete/batch", {"inputs": [{"prefix": "g"}, "x"]}, 422, "inputs[1]",
     "object"),
    ("/v1/models/qac/complete/batch", {"inputs": [{"previous": "g"}]}, 422, "inputs[0].prefix",
     "missing"),
    ("/v1/models/ret/search", {"query": "x", "beam_size": 10**6}, 422, "beam_size", "in [1,"),
    ("/v1/models/ret/search/batch", {"queries": "garden"}, 422, "queries", "array"),
    ("/v1/models/t2t/predict/batch", {"texts": ["ok", None]}, 422, "texts[1]", "missing"),
    ("/v1/models/xl/predict", {"indices": [1, 2], "values": [1.0]}, 422, "values", "has 1"),
    ("/v1/models/xl/predict", {"indices": [80], "values": [1.0]}, 422, "indices[0]", "[0, 80)"),
    ("/v1/models/xl/predict", {"indices": [-1], "values": [1.0]}, 422, "indices[0]", "[0, 80)"),
    ("/v1/models/xl/predict", {"indices": [3, 3], "values": [1.0, 1.0]}, 422, "indices",
     "twice"),
    ("/v1/models/xl/predict", b'{"indices": [1], "values": [NaN]}', 422, "values[0]", "finite"),
    ("/v1/models/xl/predict", {"indices": [1], "values": [1e39]}, 422, "values[0]", "finite"),
    ("/v1/models/xl/predict/batch", {"rows": [{"indices": [1], "values": [1]},
                                              {"indices": [99], "values": [1]}]}, 422,
     "rows[1].indices[0]", "[0, 80)"),
]


@pytest.mark.parametrize(("path", "body", "status", "field", "words"), BAD,
                         ids=[f"{i}-{b[3] or b[4]}" for i, b in enumerate(BAD)])
def test_every_bad_request_gets_one_clear_4xx(client, path, body, status, field, words):
    if isinstance(body, bytes):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
    else:
        response = client.post(path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status and error["field"] == field
    assert words in error["message"]


def test_size_limits_method_and_unknown_paths(client):
    big = {"prefix": "g", "previous": "x" * 70_000}
    response = client.post("/v1/models/qac/complete", content=json.dumps(big),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and "limit" in response.json()["error"]["message"]
    lying = client.post("/v1/models/qac/complete", content=b'{"prefix": "g"}',
                        headers={"content-length": "abc"})
    assert lying.status_code in (400, 413)
    assert client.get("/v1/models/qac/complete").status_code == 405
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and "openapi" in missing.json()["error"]["message"]


def test_hostile_text_is_answered(client):
    for text in ["", " ", "\x00\x01\t", "東京 ünïcödé \U0001f600", "g" * 1000]:
        for path, body in (("/v1/models/qac/complete", {"prefix": text, "previous": text}),
                           ("/v1/models/ret/search", {"query": text}),
                           ("/v1/models/t2t/predict", {"text": text})):
            response = client.post(path, content=json.dumps(body),
                                   headers={"content-type": "application/json"})
            assert response.status_code == 200, (path, text, response.text)
            json.loads(response.content.decode("ascii"))  # ASCII-escaped, valid JSON
    lone = client.post("/v1/models/qac/complete", content=b'{"prefix": "a\\ud800"}',
                       headers={"content-type": "application/json"})
    assert lone.status_code == 422 and lone.json()["error"]["field"] == "prefix"
    assert "lone surrogate at character 1" in lone.json()["error"]["message"]


def test_metrics_count_requests_and_show_versions(client, model_dirs):
    client.post("/v1/models/qac/complete", json={"prefix": "g"})
    client.post("/v1/models/qac/complete", json={"prefix": 1})
    client.post("/v1/models/someone-elses/complete", json={"prefix": "g"})
    text = client.get("/metrics").text
    assert 'xmr_requests_total{endpoint="complete",model="qac",status="2xx"} 1.0' in text
    assert 'xmr_requests_total{endpoint="complete",model="qac",status="4xx"} 1.0' in text
    assert 'model="-",status="4xx"' in text  # unknown names do not become label values
    version = (model_dirs["qac"] / "CURRENT").read_text().strip()
    assert f'xmr_model_info{{format="xmr.qac",model="qac",version="{version}"}} 1.0' in text
    assert 'xmr_request_seconds_bucket{endpoint="complete",le="0.001",model="qac"}' in text


def test_reload_swaps_the_model_and_a_failed_reload_keeps_the_old_one(tmp_path, loaded):
    from starlette.testclient import TestClient

    from xmr.serve import create_app

    directory = loaded["qac"].save(tmp_path / "qac")
    app = create_app({"qac": directory}, background_load=False)
    with TestClient(app) as c:
        first = c.get("/v1/models/qac").json()
        before = c.post("/v1/models/qac/complete", json={"prefix": "g"}).json()
        new = loaded["qac"].save(directory)  # a new version of the same directory
        reloaded = c.post("/v1/models/qac/reload").json()
        assert reloaded["generation"] == 2 and reloaded["version"] != first["version"]
        assert reloaded["version"] == (new / "CURRENT").read_text().strip()
        assert c.post("/v1/models/qac/complete", json={"prefix": "g"}).json() == before
        (directory / "CURRENT").write_text("v-that-does-not-exist\n")
        failed = c.post("/v1/models/qac/reload")
        assert failed.status_code == 409 and "keeps serving" in failed.json()["error"]["message"]
        assert c.post("/v1/models/qac/complete", json={"prefix": "g"}).json() == before
        assert c.get("/v1/models/qac").json()["generation"] == 2
        assert c.post("/v1/models/other/reload").status_code == 404
        assert 'xmr_reloads_total{model="qac",outcome="failed"} 1.0' in c.get("/metrics").text


def test_readiness_while_loading_and_unservable_models(tmp_path, loaded):
    from starlette.testclient import TestClient

    from xmr.serve import create_app

    vec_dir = loaded["t2t"].vectorizer_.save(tmp_path / "vectorizer")
    app = create_app({"vec": vec_dir, "qac": loaded["qac"].save(tmp_path / "q")},
                     background_load=False)
    with TestClient(app) as c:
        status = c.get("/readyz")
        assert status.status_code == 503
        assert "cannot be served" in status.json()["models"]["vec"]
        assert c.get("/v1/models/qac").status_code == 200
        answer = c.post("/v1/models/vec/complete", json={"prefix": "g"})
        assert answer.status_code == 503 and "failed to load" in answer.json()["error"]["message"]


def test_cli_refuses_bad_arguments_in_one_line(tmp_path, model_dirs, capsys):
    from xmr.cli.main import main

    assert main(["serve", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing" in err
    assert main(["serve", str(model_dirs["qac"]), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert main(["serve", f"a={model_dirs['qac']}", f"a={model_dirs['ret']}"]) == 2
    assert "two models are named 'a'" in capsys.readouterr().err
    assert main(["serve", str(model_dirs["qac"]), "--max-batch", "0"]) == 2
    assert "max_batch" in capsys.readouterr().err
