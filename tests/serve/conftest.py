"""Small saved models of the four servable kinds, and an app serving them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the serve tests need: pip install -e '.[serve,test]'")

from tests.data.fixture_models import _catalog, _qac_log  # noqa: E402


def build_models(root) -> dict:
    """name -> saved directory of an xlinear, a text2text, a retrieval and a qac model."""
    import xmr
    from xmr.apps.qac import QacConfig, QueryAutocompleter, make_examples
    from xmr.apps.retrieval import ProductRetriever, RetrieverConfig
    from xmr.apps.retrieval.data import Catalog, Judgments
    from xmr.apps.text2text import Text2Text, Text2TextConfig

    ids, titles, queries, products = _catalog()
    small_tree = {"indexer.max_leaf_size": 4, "indexer.branching_factor": 4}
    p = xmr.make_problem(60, n_train=300, n_test=8, n_features=80, seed=42)
    models = {
        "xl": xmr.XLinearModel(xmr.XLinearConfig().replace(small_tree)).fit(
            p.X_train, p.Y_train, threads=1),
        "t2t": Text2Text(Text2TextConfig().replace(small_tree)).fit(
            queries, [[ids.index(q)] for q in products], titles, threads=1),
        "ret": ProductRetriever(RetrieverConfig().replace(
            {**small_tree, "ranker.n_trees": 10, "ranker.min_data_in_leaf": 5,
             "bm25_candidates": 20, "model_candidates": 20, "text_candidates": 20})).fit(
            Catalog(ids, titles), Judgments(queries, products, np.full(len(queries), 3.0)),
            threads=1),
        "qac": QueryAutocompleter(QacConfig().replace(
            {"ranker.n_trees": 10, "ranker.min_data_in_leaf": 3, "ranker.validation": 0.3})).fit(
            make_examples(_qac_log(), train_fraction=0.9, seed=0)[0], threads=1),
    }
    return {name: model.save(root / name) for name, model in models.items()}


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory):
    return build_models(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="session")
def loaded(model_dirs):
    import xmr

    return {name: xmr.load(path) for name, path in model_dirs.items()}


@pytest.fixture()
def client(model_dirs):
    from starlette.testclient import TestClient

    from xmr.serve import ServeConfig, create_app

    app = create_app(dict(model_dirs), ServeConfig(max_body_bytes=64 * 1024, max_batch=8),
                     background_load=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
