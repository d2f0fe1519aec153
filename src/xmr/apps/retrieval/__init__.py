"""Product retrieval: search queries -> products with XR-Linear over TF-IDF features."""

from .data import Catalog, Judgments, read_catalog, read_judgments, split_queries
from .retriever import Hit, ProductRetriever, RetrieverConfig, judged_matrices

__all__ = ["Catalog", "Hit", "Judgments", "ProductRetriever", "RetrieverConfig",
           "judged_matrices", "read_catalog", "read_judgments", "split_queries"]
