"""The OpenAPI 3.1 description of the service, with the server's own limits in it."""

from __future__ import annotations

from .._version import __version__
from .config import ServeConfig


def _post(summary: str, request: dict, response: dict, tag: str) -> dict:
    return {"post": {
        "summary": summary, "tags": [tag], "operationId": summary.lower().replace(" ", "_"),
        "parameters": [{"$ref": "#/components/parameters/name"}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": request}}},
        "responses": {"200": {"description": "answer",
                              "content": {"application/json": {"schema": response}}},
                      **_ERRORS}}}


_ERROR_REF = {"content": {"application/json": {"schema": {"$ref":
                                                          "#/components/schemas/Error"}}}}
_ERRORS = {code: {"description": text, **_ERROR_REF} for code, text in (
    ("400", "the body is not a JSON object"), ("404", "no such model, or not for this model"),
    ("413", "the body is too large"), ("422", "a field is missing, mistyped or out of range"),
    ("503", "the model is not loaded (yet)"))}


def build_schema(cfg: ServeConfig) -> dict:
    """The schema served at ``/openapi.json``."""
    text = {"type": "string", "maxLength": cfg.max_text_chars}
    top_k = {"type": "integer", "minimum": 1, "maximum": cfg.max_top_k}
    beam = {"type": "integer", "minimum": 1, "maximum": cfg.max_beam_size}
    row = {"type": "object", "additionalProperties": False, "required": ["indices", "values"],
           "properties": {
               "indices": {"type": "array", "maxItems": cfg.max_features, "uniqueItems": True,
                           "items": {"type": "integer", "minimum": 0},
                           "description": "feature ids, below the model's feature count"},
               "values": {"type": "array", "maxItems": cfg.max_features,
                          "items": {"type": "number"}}}}

    def knobbed(props: dict, required: list[str], beam_size: bool = True) -> dict:
        extra = {"top_k": top_k, **({"beam_size": beam} if beam_size else {})}
        return {"type": "object", "additionalProperties": False, "required": required,
                "properties": {**props, **extra}}

    def batch(items: dict, key: str) -> dict:
        return {"type": "array", "maxItems": cfg.max_batch, "items": items}

    label = {"type": "object", "properties": {"label": {"type": "integer"},
                                              "score": {"type": "number"}}}
    prediction = {"type": "object", "properties": {"label": {"type": "integer"},
                                                   "text": {"type": "string"},
                                                   "score": {"type": "number"}}}
    product = {"type": "object", "properties": {"product_id": {"type": "string"},
                                                "title": {"type": "string"},
                                                "score": {"type": "number"}}}
    suggestion = {"type": "object", "properties": {"query": {"type": "string"},
                                                   "score": {"type": "number"}}}

    def results(key: str, item: dict) -> dict:
        one = {"type": "object", "properties": {key: {"type": "array", "items": item}}}
        return one, {"type": "object", "properties": {"results": {"type": "array",
                                                                   "items": one}}}

    labels_one, labels_many = results("labels", {"oneOf": [label, prediction]})
    products_one, products_many = results("products", product)
    sugg_one, sugg_many = results("suggestions", suggestion)
    sparse_one = knobbed(row["properties"], ["indices", "values"])
    text_one = knobbed({"text": text}, ["text"])
    complete_item = {"type": "object", "additionalProperties": False, "required": ["prefix"],
                     "properties": {"prefix": text, "previous": text}}
    model_info = {"type": "object", "properties": {
        "name": {"type": "string"}, "kind": {"type": "string"}, "format": {"type": "string"},
        "format_version": {"type": "integer"}, "version": {"type": "string"},
        "labels": {"type": "integer"}, "loaded_at": {"type": "number"},
        "load_seconds": {"type": "number"}, "generation": {"type": "integer"}}}
    get = {"responses": {"200": {"description": "ok"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "xmr model server", "version": __version__,
                 "description": "Real-time extreme multi-label ranking: XR-Linear prediction, "
                                "text2text prediction, product search and query completion."},
        "paths": {
            "/healthz": {"get": {"summary": "Alive", "tags": ["operations"], **get}},
            "/readyz": {"get": {"summary": "Every model loaded and warmed",
                                "tags": ["operations"],
                                "responses": {"200": {"description": "ready"},
                                              "503": {"description": "not ready"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "tags": ["operations"],
                                 **get}},
            "/v1/models": {"get": {"summary": "The served models", "tags": ["models"],
                                   "responses": {"200": {"description": "models", "content": {
                                       "application/json": {"schema": {
                                           "type": "object", "properties": {"models": {
                                               "type": "array", "items": model_info}}}}}}}}},
            "/v1/models/{name}": {"get": {
                "summary": "One model", "tags": ["models"],
                "parameters": [{"$ref": "#/components/parameters/name"}],
                "responses": {"200": {"description": "the model", "content": {
                    "application/json": {"schema": model_info}}}, "404": _ERRORS["404"],
                    "503": _ERRORS["503"]}}},
            "/v1/models/{name}/reload": {"post": {
                "summary": "Load the model's directory again and swap it in", "tags": ["models"],
                "parameters": [{"$ref": "#/components/parameters/name"}],
                "responses": {"200": {"description": "reloaded", "content": {
                    "application/json": {"schema": model_info}}}, "404": _ERRORS["404"],
                    "409": {"description": "the load failed; the old model keeps serving",
                            **_ERROR_REF}}}},
            "/v1/models/{name}/predict": _post(
                "Predict", {"oneOf": [sparse_one, text_one]}, labels_one, "xlinear, text2text"),
            "/v1/models/{name}/predict/batch": _post(
                "Predict batch", {"oneOf": [
                    knobbed({"rows": batch(row, "rows")}, ["rows"]),
                    knobbed({"texts": batch(text, "texts")}, ["texts"])]},
                labels_many, "xlinear, text2text"),
            "/v1/models/{name}/search": _post(
                "Search", knobbed({"query": text}, ["query"]), products_one, "retrieval"),
            "/v1/models/{name}/search/batch": _post(
                "Search batch", knobbed({"queries": batch(text, "queries")}, ["queries"]),
                products_many, "retrieval"),
            "/v1/models/{name}/complete": _post(
                "Complete", knobbed({"prefix": text, "previous": text}, ["prefix"],
                                    beam_size=False), sugg_one, "qac"),
            "/v1/models/{name}/complete/batch": _post(
                "Complete batch", knobbed({"inputs": batch(complete_item, "inputs")},
                                          ["inputs"], beam_size=False), sugg_many, "qac"),
        },
        "components": {
            "parameters": {"name": {"name": "name", "in": "path", "required": True,
                                    "schema": {"type": "string"},
                                    "description": "a served model's name"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "object", "properties": {
                    "status": {"type": "integer"}, "field": {"type": ["string", "null"]},
                    "message": {"type": "string"}}}}}},
        },
    }
