"""Model directories: ``manifest.json`` plus one ``.npy`` file per array; no pickle.

Writes go to a temporary sibling directory that is renamed into place, so a crash or a full disk
never leaves a half-written model where a good one was. Loads check the format name, the format
version, and every array's dtype and shape against the manifest.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError

MANIFEST = "manifest.json"


def save_model_dir(path: str | os.PathLike, format_name: str, version: int,
                   arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any],
                   extra_files: Mapping[str, str] | None = None) -> Path:
    """Atomically write a model directory.

    Parameters
    ----------
    path : target directory (replaced if it exists and is a model directory)
    format_name, version : identify the reader that can load it
    arrays : name -> array; names must be plain file-name stems
    meta : JSON-serializable metadata (config, shapes, ...)
    extra_files : file name -> UTF-8 text, written alongside (e.g. a readable vocabulary)
    """
    with atomic_directory(path) as tmp:
        entries = {}
        for name, arr in arrays.items():
            if not name.replace("_", "").isalnum():
                raise ValueError(f"invalid array name {name!r}")
            arr = np.ascontiguousarray(arr)
            np.save(tmp / f"{name}.npy", arr, allow_pickle=False)
            entries[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape)}
        for name, text in (extra_files or {}).items():
            if Path(name).name != name or name == MANIFEST:
                raise ValueError(f"invalid extra file name {name!r}")
            (tmp / name).write_text(text, encoding="utf-8")
        write_manifest(tmp, {"format": format_name, "version": version, "arrays": entries,
                             **meta})
    return Path(path)


def write_manifest(directory: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``manifest.json`` (flushed to disk: it is the last file of a model directory)."""
    with open(directory / MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())


def write_composite_manifest(directory: Path, format_name: str, version: int,
                             config: Mapping[str, Any], **extra: Any) -> None:
    """Manifest of a model made of sub-model directories (no arrays of its own)."""
    write_manifest(directory, {"format": format_name, "version": version, "arrays": {},
                               "config": dict(config), **extra})


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling directory; on success it replaces ``path`` in one rename.

    An existing ``path`` is replaced only if it is an xmr model directory (has a manifest) or
    empty; on any error the temporary directory is removed and ``path`` is left as it was.
    """
    path = Path(path)
    if path.exists() and not (path / MANIFEST).exists() and any(path.iterdir()):
        raise ModelFormatError(f"{path}: exists and is not an xmr model directory; "
                               "refusing to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        # mkdtemp creates 0700; a model directory gets the usual mode for the user's umask
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        yield tmp
        backup = None
        if path.exists():
            backup = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, backup)
        os.replace(tmp, path)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The parsed manifest of a model directory (ModelFormatError when absent or corrupt)."""
    path = Path(path)
    file = path / MANIFEST
    if not path.is_dir():
        raise ModelFormatError(f"{path}: no such model directory")
    if not file.exists():
        raise ModelFormatError(f"{path}: not an xmr model directory (no {MANIFEST})")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{file}: corrupt manifest ({exc})") from exc
    if not isinstance(manifest, dict) or "format" not in manifest or "arrays" not in manifest:
        raise ModelFormatError(f"{file}: manifest lacks 'format' or 'arrays'")
    return manifest


def read_checked_manifest(path: str | os.PathLike, format_name: str,
                          max_version: int) -> dict[str, Any]:
    """The manifest of ``path``, which must hold a ``format_name`` model of a version this xmr
    reads (1..``max_version``); ModelFormatError otherwise."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest["format"] != format_name:
        raise ModelFormatError(f"{path}: holds a {manifest['format']!r} model, "
                               f"expected {format_name!r}")
    version = manifest.get("version")
    if not isinstance(version, int) or version > max_version or version < 1:
        raise ModelFormatError(f"{path}: format version {version!r} is not supported "
                               f"(this xmr reads versions 1..{max_version})")
    return manifest


def load_model_dir(path: str | os.PathLike, format_name: str, max_version: int,
                   mmap: bool = True) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a model directory written by :func:`save_model_dir`.

    Parameters
    ----------
    mmap : bool
        Map arrays read-only from disk (instant start-up, shared page cache) instead of reading.
    """
    path = Path(path)
    manifest = read_checked_manifest(path, format_name, max_version)
    arrays = {}
    for name, spec in manifest["arrays"].items():
        file = path / f"{name}.npy"
        if not file.exists():
            raise ModelFormatError(f"{path}: missing array file {file.name}")
        try:
            arr = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ModelFormatError(f"{file}: unreadable array ({exc})") from exc
        if arr.dtype.str != spec["dtype"] or list(arr.shape) != list(spec["shape"]):
            raise ModelFormatError(
                f"{file}: dtype/shape {arr.dtype.str}{list(arr.shape)} does not match the "
                f"manifest's {spec['dtype']}{spec['shape']}")
        arrays[name] = arr
    return manifest, arrays
