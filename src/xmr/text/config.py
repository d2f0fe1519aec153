"""Configuration of the TF-IDF vectorizer: a list of feature blocks plus corpus-wide options."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config, check_choice, check_range, field
from ..errors import ConfigError

#: Analyzer kinds. ``word``: n-grams of tokens (runs of letters, digits and ``_``, as
#: scikit-learn's default token pattern, with a settable minimum length), joined by one space.
#: ``char``: character n-grams inside each whitespace-separated word with an end-of-word marker
#: ``#`` ("echo" -> "ech", "cho", "ho#"). ``char_wb``: scikit-learn's variant (each word padded
#: with a space on both sides). ``prefix``: character n-grams over the whole (typed) text, spaces
#: included, optionally position-weighted.
KINDS = ("word", "char", "char_wb", "prefix")
#: Weights of the n-grams of a ``prefix`` block. ``none``: 1. ``inverse-position``: an n-gram
#: starting at character i (0-based) counts 1/(i+1) (PECOS's QAC reference). ``word-start``:
#: n-grams that start a word count 1, those starting inside a word ``inner_weight``.
POSITION_WEIGHTS = ("none", "inverse-position", "word-start")
NORMS = ("l2", "l1", "none")
UNICODE_FORMS = ("none", "NFC", "NFKC", "NFD", "NFKD")


@dataclass(frozen=True, kw_only=True)
class BlockConfig(Config):
    """One feature block: its own vocabulary, document frequencies and column range."""

    kind: str = field("word", f"analyzer: {', '.join(KINDS)}")
    min_n: int = field(1, "smallest n-gram length (tokens for word, characters otherwise)")
    max_n: int = field(1, "largest n-gram length")
    token_min_length: int = field(1, "word blocks: shortest token kept (scikit-learn uses 2)")
    position_weight: str = field("none", f"prefix blocks: {', '.join(POSITION_WEIGHTS)}")
    inner_weight: float = field(0.5, "prefix + word-start: weight of n-grams inside a word")
    min_df: float = field(1.0, "drop terms in fewer documents: a count if >= 1, else a fraction")
    max_df: float = field(1.0, "drop terms in more documents: a fraction if <= 1, else a count")
    max_features: int = field(0, "keep the most frequent terms only (0 = all)")
    sublinear_tf: bool = field(False, "replace tf by 1 + log(tf)")
    use_idf: bool = field(True, "multiply by the inverse document frequency")
    smooth_idf: bool = field(True, "idf = ln((1 + n) / (1 + df)) + 1, else ln(n / df) + 1")
    norm: str = field("none", "normalize this block's part of each row first: l2, l1, none")

    def validate(self) -> None:
        name = type(self).__name__
        check_choice(name, "kind", self.kind, KINDS)
        check_range(name, "min_n", self.min_n, 1, 64)
        check_range(name, "max_n", self.max_n, self.min_n, 64)
        check_range(name, "token_min_length", self.token_min_length, 1)
        check_choice(name, "position_weight", self.position_weight, POSITION_WEIGHTS)
        if self.position_weight != "none" and self.kind != "prefix":
            raise ConfigError(f"{name}.position_weight applies to prefix blocks only; "
                              f"got {self.position_weight!r} for a {self.kind!r} block")
        check_range(name, "inner_weight", self.inner_weight, 0.0, 1.0, low_open=True)
        check_range(name, "min_df", self.min_df, 0.0)
        check_range(name, "max_df", self.max_df, 0.0, low_open=True)
        check_range(name, "max_features", self.max_features, 0)
        check_choice(name, "norm", self.norm, NORMS)


def _default_blocks() -> tuple[BlockConfig, ...]:
    return (BlockConfig(kind="word", min_n=1, max_n=2),
            BlockConfig(kind="char", min_n=3, max_n=3))


@dataclass(frozen=True, kw_only=True)
class TfidfConfig(Config):
    """Corpus-wide options and the list of blocks (default: word 1-2 grams + char trigrams)."""

    blocks: tuple[BlockConfig, ...] = field(_default_blocks(), "feature blocks (a list)")
    lowercase: bool = field(True, "lower-case the text first")
    unicode_form: str = field("NFKC", f"Unicode normalization: {', '.join(UNICODE_FORMS)}")
    norm: str = field("l2", "normalize each row after stacking the blocks: l2, l1, none")

    def validate(self) -> None:
        name = type(self).__name__
        if not self.blocks:
            raise ConfigError(f"{name}.blocks must hold at least one block")
        check_choice(name, "unicode_form", self.unicode_form, UNICODE_FORMS)
        check_choice(name, "norm", self.norm, NORMS)
