"""Product retrieval: search queries -> products with XR-Linear over TF-IDF features."""

from .data import Catalog, Judgments, read_catalog, read_judgments, split_queries
from .judged import judged_matrices, split_recall
from .ranker import RankerConfig
from .retriever import Hit, ProductRetriever, RetrieverConfig

__all__ = ["Catalog", "Hit", "Judgments", "ProductRetriever", "RankerConfig", "RetrieverConfig",
           "judged_matrices", "read_catalog", "read_judgments", "split_queries", "split_recall"]
