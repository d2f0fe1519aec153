"""Text to labels (PECOS's text2text): TF-IDF + XR-Linear + the label texts, as one model."""

from .data import read_items, read_labeled_texts
from .model import Prediction, Text2Text, Text2TextConfig

__all__ = ["Prediction", "Text2Text", "Text2TextConfig", "read_items", "read_labeled_texts"]
