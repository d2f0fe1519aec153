"""Lexical matching: text analysis (tokens, stop words, stemming), inverted indexes scored in
numba, and Okapi BM25 over them."""

from .analyzer import Analyzer, AnalyzerConfig
from .bm25 import Bm25Config, Bm25Index
from .postings import PostingIndex

__all__ = ["Analyzer", "AnalyzerConfig", "Bm25Config", "Bm25Index", "PostingIndex"]
