"""What each model endpoint does with a checked request: one function per (kind, action).

Each takes the served model, the parsed JSON body and the limits, checks the fields it reads
(``inputs``) and returns the JSON-ready answer. Library errors about the data (``DataError``)
become 422 responses in ``app``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .config import ServeConfig
from .errors import RequestError
from .inputs import allow_only, array, integer, obj, sparse_row, text, text_value
from .registry import Served


def _knobs(data: dict, cfg: ServeConfig, beam: bool = True) -> dict:
    out = {"top_k": integer(data, "top_k", 1, cfg.max_top_k)}
    if beam:
        out["beam_size"] = integer(data, "beam_size", 1, cfg.max_beam_size)
    return out


def _labels(indices: np.ndarray, scores: np.ndarray) -> list[dict]:
    return [{"label": i, "score": s} for i, s in zip(indices.tolist(), scores.tolist(),
                                                     strict=True) if i >= 0]


# -- xlinear: sparse features -> label ids ---------------------------------------------------------
def xlinear_predict(served: Served, data: dict, cfg: ServeConfig) -> dict:
    model = served.model
    idx, val = sparse_row(data, model.n_features_, cfg)
    order = np.argsort(np.asarray(idx, dtype=np.int32), kind="stable")
    top = model.predict_one((np.asarray(idx, dtype=np.int32)[order],
                             np.asarray(val, dtype=np.float32)[order]), **_knobs(data, cfg))
    return {"labels": _labels(top.indices, top.scores)}


def xlinear_predict_batch(served: Served, data: dict, cfg: ServeConfig) -> dict:
    import scipy.sparse as sp

    allow_only(data, ("rows", "top_k", "beam_size"))
    model = served.model
    rows = array(data, "rows", cfg.max_batch)
    parsed = [sparse_row(obj(r, f"rows[{i}]"), model.n_features_, cfg, where=f"rows[{i}].")
              for i, r in enumerate(rows)]
    indptr = np.zeros(len(parsed) + 1, dtype=np.int64)
    np.cumsum([len(i) for i, _ in parsed], out=indptr[1:])
    indices = np.fromiter((j for i, _ in parsed for j in i), np.int32, count=int(indptr[-1]))
    values = np.fromiter((v for _, vs in parsed for v in vs), np.float32, count=int(indptr[-1]))
    X = sp.csr_matrix((values, indices, indptr), shape=(len(parsed), model.n_features_))
    X.sort_indices()
    top = model.predict(X, threads=cfg.batch_threads, **_knobs(data, cfg))
    return {"results": [{"labels": _labels(i, s)} for i, s in
                        zip(top.indices, top.scores, strict=True)]}


# -- text2text: text -> labels with their texts ----------------------------------------------------
def _predictions(preds) -> list[dict]:
    return [{"label": p.id, "text": p.text, "score": p.score} for p in preds]


def text2text_predict(served: Served, data: dict, cfg: ServeConfig) -> dict:
    allow_only(data, ("text", "top_k", "beam_size"))
    return {"labels": _predictions(served.model.predict_one(text(data, "text", cfg),
                                                            **_knobs(data, cfg)))}


def text2text_predict_batch(served: Served, data: dict, cfg: ServeConfig) -> dict:
    allow_only(data, ("texts", "top_k", "beam_size"))
    texts = array(data, "texts", cfg.max_batch)
    checked = [text_value(t, f"texts[{i}]", cfg) for i, t in enumerate(texts)]
    preds = served.model.predict(checked, threads=cfg.batch_threads, **_knobs(data, cfg))
    return {"results": [{"labels": _predictions(p)} for p in preds]}


# -- retrieval: query -> products ------------------------------------------------------------------
def _hits(hits) -> list[dict]:
    return [{"product_id": h.product_id, "title": h.title, "score": h.score} for h in hits]


def retrieval_search(served: Served, data: dict, cfg: ServeConfig) -> dict:
    allow_only(data, ("query", "top_k", "beam_size"))
    return {"products": _hits(served.model.search(text(data, "query", cfg),
                                                  **_knobs(data, cfg)))}


def retrieval_search_batch(served: Served, data: dict, cfg: ServeConfig) -> dict:
    allow_only(data, ("queries", "top_k", "beam_size"))
    queries = array(data, "queries", cfg.max_batch)
    checked = [text_value(q, f"queries[{i}]", cfg) for i, q in enumerate(queries)]
    found = served.model.search_many(checked, threads=cfg.batch_threads, **_knobs(data, cfg))
    return {"results": [{"products": _hits(hits)} for hits in found]}


# -- qac: (previous query, prefix) -> completions --------------------------------------------------
def _suggestions(sugg) -> list[dict]:
    return [{"query": s.query, "score": s.score} for s in sugg]


def qac_complete(served: Served, data: dict, cfg: ServeConfig) -> dict:
    allow_only(data, ("prefix", "previous", "top_k"))
    prefix = text(data, "prefix", cfg)
    previous = text(data, "previous", cfg, required=False)
    top_k = integer(data, "top_k", 1, min(cfg.max_top_k, 10_000))
    return {"suggestions": _suggestions(served.model.complete(prefix, previous, top_k))}


def qac_complete_batch(served: Served, data: dict, cfg: ServeConfig) -> dict:
    allow_only(data, ("inputs", "top_k"))
    inputs = array(data, "inputs", cfg.max_batch)
    top_k = integer(data, "top_k", 1, min(cfg.max_top_k, 10_000))
    out = []
    for i, item in enumerate(inputs):
        where = f"inputs[{i}]."
        item = obj(item, f"inputs[{i}]")
        allow_only(item, ("prefix", "previous"), where)
        prefix = text(item, "prefix", cfg, where=where)
        previous = text(item, "previous", cfg, required=False, where=where)
        out.append({"suggestions": _suggestions(served.model.complete(prefix, previous,
                                                                      top_k))})
    return {"results": out}


Handler = Callable[[Served, dict, ServeConfig], dict]
#: (kind, action) -> handler; an action a kind lacks is a 404 naming what the model offers
HANDLERS: dict[tuple[str, str], Handler] = {
    ("xlinear", "predict"): xlinear_predict,
    ("xlinear", "predict/batch"): xlinear_predict_batch,
    ("text2text", "predict"): text2text_predict,
    ("text2text", "predict/batch"): text2text_predict_batch,
    ("retrieval", "search"): retrieval_search,
    ("retrieval", "search/batch"): retrieval_search_batch,
    ("qac", "complete"): qac_complete,
    ("qac", "complete/batch"): qac_complete_batch,
}


def handler_for(served: Served, action: str) -> Handler:
    handler = HANDLERS.get((served.kind, action))
    if handler is None:
        offered = ", ".join(a for k, a in HANDLERS if k == served.kind)
        raise RequestError(404, None, f"model {served.name!r} is a {served.kind} model: it "
                                      f"answers {offered}, not {action}")
    return handler
