"""Post-processors: how a node's raw score is transformed and combined with its parent's.

``l{p}-hinge``: child = exp(-max(1 - z, 0)^p) * parent; ``log-l{p}-hinge``: child =
-max(1 - z, 0)^p + parent; ``sigmoid``: child = sigmoid(z) * parent; ``log-sigmoid``: child =
log sigmoid(z) + parent; ``noop``: child = z (the parent's score is ignored).
"""

from __future__ import annotations

from ..errors import ConfigError

POST_PROCESSORS: dict[str, int] = {
    "noop": 0,
    "sigmoid": 1,
    "log-sigmoid": 2,
    **{f"l{p}-hinge": 2 + p for p in range(1, 5)},
    **{f"log-l{p}-hinge": 6 + p for p in range(1, 5)},
}


def post_processor_code(name: str) -> int:
    """Kernel code of a post-processor name; :class:`ConfigError` when unknown."""
    try:
        return POST_PROCESSORS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"post_processor must be one of {list(POST_PROCESSORS)}; got {name!r}"
        ) from None
