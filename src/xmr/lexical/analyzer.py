"""Text analysis for lexical matching: normalize, split into tokens, drop stop words, stem.

Stemming uses PyStemmer (Snowball stemmers in C; ``pip install "xmr[retrieval]"``), the library
bm25s also uses: writing stemmers by hand would be slow and wrong in many small ways.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import Config, check_choice, check_range, field
from ..errors import ConfigError
from ..text.config import UNICODE_FORMS
from .stopwords import ENGLISH

STOP_WORDS = {"none": frozenset(), "english": ENGLISH}


@dataclass(frozen=True, kw_only=True)
class AnalyzerConfig(Config):
    """How text becomes index terms."""

    lowercase: bool = field(True, "lower-case the text first")
    unicode_form: str = field("NFKC", f"Unicode normalization: {', '.join(UNICODE_FORMS)}")
    token_min_length: int = field(2, "shortest token kept (runs of letters, digits and _)")
    stop_words: str = field("english", "stop-word list: english or none")
    stemmer: str = field("english", "Snowball stemmer language of PyStemmer, or none")

    def validate(self) -> None:
        name = type(self).__name__
        check_choice(name, "unicode_form", self.unicode_form, UNICODE_FORMS)
        check_range(name, "token_min_length", self.token_min_length, 1, 64)
        check_choice(name, "stop_words", self.stop_words, tuple(STOP_WORDS))


class Analyzer:
    """Turns texts into lists of terms (stems of the non-stop-word tokens, in order).

    Parameters
    ----------
    config : AnalyzerConfig, optional
    """

    def __init__(self, config: AnalyzerConfig | None = None) -> None:
        self.config = config or AnalyzerConfig()
        cfg = self.config
        self._split = re.compile(rf"\w{{{cfg.token_min_length},}}").findall
        self._stop = STOP_WORDS[cfg.stop_words]
        self._stem = _stemmer(cfg.stemmer)
        self._cache: dict[str, str] = {}

    def _normalize(self, text: str) -> str:
        if not isinstance(text, str):
            from ..text.encode import as_text

            text = as_text(text, "text")
        if self.config.lowercase:
            text = text.lower()
        if self.config.unicode_form != "none":
            text = unicodedata.normalize(self.config.unicode_form, text)
        return text

    def tokens(self, text: str) -> list[str]:
        """Tokens of one text before stemming (stop words removed)."""
        return [t for t in self._split(self._normalize(text)) if t not in self._stop]

    def terms(self, text: str) -> list[str]:
        """Index terms of one text: its stemmed tokens, repeats kept (the query path)."""
        tokens = self.tokens(text)
        if self._stem is None:
            return tokens
        cache = self._cache
        missing = [t for t in tokens if t not in cache]
        if missing:
            if len(cache) > 1_000_000:  # bounded: a stream of unique words must not grow it
                cache.clear()
            cache.update(zip(missing, self._stem(missing), strict=True))
        return [cache[t] for t in tokens]

    def terms_many(self, texts: Sequence[str]) -> list[list[str]]:
        """Index terms of many texts; each distinct token is stemmed once (one C call)."""
        token_lists = [self.tokens(t) for t in texts]  # regex per text: the work is in C
        if self._stem is None:
            return token_lists
        vocab = sorted({t for tokens in token_lists for t in tokens})
        stems = dict(zip(vocab, self._stem(vocab), strict=True))
        return [[stems[t] for t in tokens] for tokens in token_lists]


def _stemmer(language: str):
    """``stemWords`` of a PyStemmer stemmer, or None for ``none``."""
    if language == "none":
        return None
    try:
        import Stemmer
    except ImportError:
        raise ConfigError(f"stemmer {language!r} needs PyStemmer: pip install "
                          "'xmr[retrieval]' (or set the stemmer to 'none')") from None
    try:
        return Stemmer.Stemmer(language).stemWords
    except KeyError:
        raise ConfigError(f"AnalyzerConfig.stemmer must be 'none' or one of "
                          f"{sorted(Stemmer.algorithms())}; got {language!r}") from None
