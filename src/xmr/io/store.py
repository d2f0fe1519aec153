"""Model directories on disk: versioned, atomic saves that readers can race safely.

A model saved at ``path`` is laid out as::

    path/CURRENT            one line: the name of the live version, e.g. "v20261202T143000-8a1f3c"
    path/v20261202T.../     the version: manifest.json + .npy arrays (+ child directories)
    path/.lock              taken (flock) by writers while they publish and clean up

A writer fills a hidden temporary directory inside ``path``, flushes every file to disk, renames
it to a new version and then replaces ``CURRENT`` in one atomic rename. A reader resolves
``CURRENT`` once and reads everything from that version, so it never mixes files of two saves;
the previous version is kept for readers that resolved it just before a save, older versions
and the leftovers of killed saves are removed by the next save. A directory written by xmr 0.1
(``manifest.json`` directly inside ``path``) is still read as it is.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import ModelFormatError

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
LOCK = ".lock"
_TMP_PREFIX = ".tmp-"
_VERSION_NAME = re.compile(r"v\d{8}T\d{6}-[0-9a-f]{6}")
_STALE_SECONDS = 24 * 3600  # a temporary directory this old belongs to no live save


def resolve(path: str | os.PathLike) -> Path:
    """The directory holding the live version of the model saved at ``path``.

    Raises
    ------
    ModelFormatError
        When ``path`` is not a model directory, or names a version that is missing.
    """
    path = Path(path)
    current = path / CURRENT
    try:
        name = current.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if (path / MANIFEST).is_file():
            return path  # a flat directory: xmr 0.1, or a child inside a version
        if not path.exists():
            raise ModelFormatError(f"{path}: no such model directory") from None
        if not path.is_dir():
            raise ModelFormatError(f"{path}: is a file, not a model directory") from None
        raise ModelFormatError(f"{path}: not an xmr model directory (no {CURRENT} or "
                               f"{MANIFEST})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{current}: unreadable ({exc})") from None
    if not _is_version_name(name):
        raise ModelFormatError(f"{current}: does not name a version ({name[:80]!r})")
    version = path / name
    if not (version / MANIFEST).is_file():
        raise ModelFormatError(f"{path}: the live version {name} is missing or incomplete")
    return version


def _is_version_name(name: str) -> bool:
    return _VERSION_NAME.fullmatch(name) is not None


@contextlib.contextmanager
def new_version(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory; when the body succeeds it becomes the live version.

    Refuses (before any work) to write into an existing directory that is not an xmr model
    directory, or into a location that cannot be written. On any error the temporary directory
    is removed and the live version stays as it was.
    """
    path = Path(path)
    _check_writable_target(path)
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        sync_tree(tmp)
        with _locked(path):
            name = time.strftime("v%Y%m%dT%H%M%S") + f"-{secrets.token_hex(3)}"
            previous = _live_name(path)
            os.rename(tmp, path / name)
            _publish(path, name)
            _cleanup(path, keep={name, previous})
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_writable_target(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise ModelFormatError(f"{path}: exists and is a file; refusing to overwrite it")
    if path.is_dir() and not ((path / CURRENT).exists() or (path / MANIFEST).exists()) \
            and any(path.iterdir()):
        raise ModelFormatError(f"{path}: exists and is not an xmr model directory; refusing "
                               "to overwrite it")
    probe = path if path.exists() else _existing_parent(path)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ModelFormatError(f"{probe}: not writable, cannot save a model there")


def _existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ModelFormatError(f"{parent}: is a file, cannot create {path} below it")
    return parent


def check_output_dir(path: str | os.PathLike) -> None:
    """Raise :class:`ModelFormatError` now when a model could not be saved at ``path``
    (for commands that train for a long time before saving)."""
    _check_writable_target(Path(path))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _live_name(path: Path) -> str | None:
    try:
        name = (path / CURRENT).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if _is_version_name(name) else None


def _publish(path: Path, name: str) -> None:
    tmp = path / f".{CURRENT}.{os.getpid()}-{secrets.token_hex(4)}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path / CURRENT)
    _fsync_dir(path)
    legacy = path / MANIFEST
    if legacy.exists():  # an xmr 0.1 flat directory becomes versioned: drop its files
        legacy.unlink()
        for entry in path.iterdir():
            if entry.name in (CURRENT, LOCK) or entry.name.startswith(".") \
                    or _is_version_name(entry.name):
                continue
            _remove(entry)


def _cleanup(path: Path, keep: set[str | None]) -> None:
    """Remove versions other than ``keep`` and temporary directories of dead saves."""
    now = time.time()
    for entry in path.iterdir():
        name = entry.name
        if _is_version_name(name) and entry.is_dir() and name not in keep:
            _remove(entry)
        elif name.startswith((_TMP_PREFIX, f".{CURRENT}.")) and _abandoned(name, entry, now):
            _remove(entry)
    _cleanup_legacy_siblings(path, now)


def _abandoned(name: str, entry: Path, now: float) -> bool:
    """A temporary entry whose writer process is gone (or that is older than a day)."""
    pid_text = name.split(".")[-1] if name.startswith(f".{CURRENT}.") else name[len(_TMP_PREFIX):]
    pid_text = pid_text.split("-")[0]
    try:
        if now - entry.lstat().st_mtime > _STALE_SECONDS:
            return True
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _cleanup_legacy_siblings(path: Path, now: float) -> None:
    """xmr 0.1 wrote ``.<name>.tmp-*`` and ``.<name>.old-<pid>`` next to the model directory;
    those of killed saves were never removed."""
    parent = path.absolute().parent
    prefixes = (f".{path.name}.tmp-", f".{path.name}.old-")
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(prefixes) and entry.is_dir():
            try:
                old = now - entry.lstat().st_mtime > 3600
            except OSError:
                continue
            if old:
                _remove(entry)


def leftovers(path: str | os.PathLike) -> list[Path]:
    """Entries inside a model directory that are not its live version (old versions and
    temporary directories), for reporting."""
    path = Path(path)
    live = _live_name(path)
    if live is None:
        return []
    return sorted(e for e in path.iterdir()
                  if e.name not in (CURRENT, LOCK, live))


def _remove(entry: Path) -> None:
    try:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("could not remove %s: %s", entry, exc)


def sync_tree(root: Path) -> None:
    """Flush every file below ``root`` and the directories themselves to disk."""
    for dirpath, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot sync directories
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def write_manifest(directory: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``manifest.json`` (the last file written into a model directory)."""
    text = json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False)
    (directory / MANIFEST).write_text(text + "\n", encoding="utf-8")


def read_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    """The parsed manifest of a flat model directory (ModelFormatError when absent or corrupt)."""
    directory = Path(directory)
    file = directory / MANIFEST
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ModelFormatError(f"{directory}: not an xmr model directory (no "
                               f"{MANIFEST})") from None
    except OSError as exc:
        raise ModelFormatError(f"{file}: unreadable ({exc})") from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{file}: corrupt manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise ModelFormatError(f"{file}: corrupt manifest (not a JSON object)")
    for key, kind in (("format", str), ("version", int)):
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise ModelFormatError(f"{file}: manifest lacks a valid {key!r}")
    return manifest


def file_digest(file: Path) -> str:
    """sha256 of a file's contents (hex)."""
    with open(file, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def tree_size(path: Path) -> int:
    """Bytes of the regular files below ``path``."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
