"""Product retrieval: search queries -> products with XR-Linear over TF-IDF features."""

from .data import Catalog, Judgments, read_catalog, read_judgments, split_queries
from .retriever import Hit, ProductRetriever, RetrieverConfig, retrieval_metrics

__all__ = ["Catalog", "Hit", "Judgments", "ProductRetriever", "RetrieverConfig",
           "read_catalog", "read_judgments", "retrieval_metrics", "split_queries"]
