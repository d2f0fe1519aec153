from __future__ import annotations

import json

import pytest

from xmr import ConfigError, IndexerConfig, SolverConfig, XLinearConfig


def test_defaults_are_pecos_defaults():
    cfg = XLinearConfig()
    ix = cfg.indexer
    assert (ix.branching_factor, ix.max_leaf_size, ix.n_iter) == (16, 100, 20)
    s = cfg.solver
    assert (s.loss, s.Cp, s.Cn, s.bias, s.eps, s.max_iter, s.threshold, s.negatives) == (
        "l2-svm", 1.0, 1.0, 1.0, 0.1, 100, 0.1, "tfn")
    assert (cfg.predict.beam_size, cfg.predict.post_processor) == (10, "l3-hinge")


def test_round_trip_through_json():
    cfg = XLinearConfig().replace({"solver.Cp": 2.5, "indexer.seed": 3})
    again = XLinearConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.solver.Cp == 2.5


def test_unknown_keys_raise_and_name_them():
    with pytest.raises(ConfigError, match="unknown key.*'Cq'"):
        SolverConfig.from_dict({"Cq": 1})
    with pytest.raises(ConfigError, match="unknown config key 'solver.nope'"):
        XLinearConfig().replace({"solver.nope": 1})


@pytest.mark.parametrize("kwargs,needle", [
    ({"Cp": 0.0}, "SolverConfig.Cp must be in (0.0, inf]; got 0.0"),
    ({"loss": "hinge"}, "SolverConfig.loss must be one of"),
    ({"negatives": "all"}, "SolverConfig.negatives"),
    ({"threshold": -1.0}, "SolverConfig.threshold"),
])
def test_invalid_values_name_parameter_range_and_value(kwargs, needle):
    with pytest.raises(ConfigError) as err:
        SolverConfig(**kwargs)
    assert needle in str(err.value)


def test_type_errors_are_config_errors():
    with pytest.raises(ConfigError, match="expected int"):
        IndexerConfig.from_dict({"branching_factor": "many"})
    assert IndexerConfig.from_dict({"branching_factor": "8"}).branching_factor == 8


def test_field_paths_cover_every_leaf():
    paths = [p for p, *_ in XLinearConfig.field_paths()]
    assert "solver.Cp" in paths and "indexer.branching_factor" in paths
    assert "predict.beam_size" in paths and len(paths) == len(set(paths))


@pytest.mark.parametrize("knob, value", [("expansion_weight", float("inf")),
                                         ("expansion_weight", float("nan")),
                                         ("expansion_weight", -0.5),
                                         ("expansion_candidates", -1),
                                         ("expansion_terms", 0),
                                         ("translation_width", 0)])
def test_retriever_expansion_knobs_are_checked(knob, value):
    """An infinite expansion weight would turn the expanded source's scores into NaN."""
    from xmr.apps.retrieval import RetrieverConfig

    with pytest.raises(ConfigError, match=knob):
        RetrieverConfig(**{knob: value})
