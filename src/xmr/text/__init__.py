"""Text features: a TF-IDF vectorizer over word, character and prefix n-gram blocks."""

from .config import BlockConfig, TfidfConfig
from .vectorizer import TfidfVectorizer

__all__ = ["BlockConfig", "TfidfConfig", "TfidfVectorizer"]
