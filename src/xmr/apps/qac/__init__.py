"""Session-aware query autocompletion: previous query + typed prefix -> full query."""

from .baseline import MostPopularCompletion, PopularityHeuristic
from .completer import QacConfig, QacRankerConfig, QueryAutocompleter
from .data import Examples, make_examples, read_queries
from .evaluate import evaluate_completer
from .generate import FEATURES, SOURCES, GeneratorConfig
from .queries import Suggestion

__all__ = ["FEATURES", "SOURCES", "Examples", "GeneratorConfig", "MostPopularCompletion",
           "PopularityHeuristic", "QacConfig", "QacRankerConfig", "QueryAutocompleter",
           "Suggestion", "evaluate_completer", "make_examples", "read_queries"]
