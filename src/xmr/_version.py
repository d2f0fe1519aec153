"""The version of xmr (one place; read by the package, the manifests and the build)."""

__version__ = "0.2.0"
