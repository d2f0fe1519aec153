"""Session-aware query autocompletion: previous query + typed prefix -> full query."""

from .baseline import MostPopularCompletion
from .completer import QacConfig, QueryAutocompleter, Suggestion
from .data import Examples, make_examples, read_queries
from .evaluate import evaluate_completer

__all__ = ["Examples", "MostPopularCompletion", "QacConfig", "QueryAutocompleter", "Suggestion",
           "evaluate_completer", "make_examples", "read_queries"]
