"""One save/load protocol for everything xmr writes to disk.

A saveable class derives from :class:`Persistent`, names its format (``format_name``,
``format_version``) and implements two methods:

- :meth:`Persistent.state` returns a :class:`State`: arrays, lists of strings, JSON metadata
  (its config, counts, training statistics), named children (other Persistent objects, saved in
  sub-directories) and optional human-readable files that are never read back;
- :meth:`Persistent.from_stored` rebuilds the object from a :class:`Stored`, whose accessors
  check every part (dtype, shape, value ranges of arrays that kernels index with, the format of
  each child) and raise :class:`~xmr.errors.ModelFormatError` naming the directory and the part.

Everything else is done here once: the atomic, versioned directory (``xmr.io.store``), the
manifest (format, version, the xmr version that wrote it, every file's size and sha256),
strings stored as UTF-8 bytes plus offsets (any character round-trips, newlines and lone
surrogates included), memory-mapped arrays, and checksum verification on demand.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import numpy as np

from .._version import __version__
from ..errors import ModelFormatError
from . import store

logger = logging.getLogger(__name__)

T = TypeVar("T")
_RESERVED = frozenset({"format", "version", "written_by", "created", "arrays", "strings",
                       "children", "files", "manifest_sha256"})
_MISSING = object()


def xmr_version() -> str:
    return __version__


@dataclass
class State:
    """What one object saves.

    Attributes
    ----------
    arrays : name -> numpy array (names are file stems: letters, digits, ``_``)
    strings : name -> sequence of str (stored as UTF-8 bytes + character offsets)
    meta : JSON-serializable metadata, e.g. ``{"config": ..., "n_labels": ...}``
    children : name -> Persistent object saved in the sub-directory ``name``
    readable : file name -> text written for people (e.g. a vocabulary listing); never read
    """

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    strings: dict[str, Sequence[str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    children: dict[str, Persistent] = field(default_factory=dict)
    readable: dict[str, str] = field(default_factory=dict)


class Persistent:
    """Base of every saveable xmr object (models, vectorizers, applications).

    Subclasses set ``format_name`` and ``format_version`` (and ``min_format_version``, the oldest
    version they still read) and implement :meth:`state` and :meth:`from_stored`. Defining the
    class registers its format for :func:`xmr.load`.
    """

    format_name: ClassVar[str] = ""
    format_version: ClassVar[int] = 1
    min_format_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.format_name:
            from .formats import register_class

            register_class(cls)

    def state(self) -> State:
        """The parts to save (see :class:`State`)."""
        raise NotImplementedError

    @classmethod
    def from_stored(cls, stored: Stored) -> Self:
        """Rebuild an object from its saved parts."""
        raise NotImplementedError

    def save(self, path: str | os.PathLike) -> Path:
        """Write the object to the model directory ``path`` atomically.

        Readers that load ``path`` during the save see the previous version or this one, never
        a mix. An existing directory that is not an xmr model directory is never overwritten.

        Returns
        -------
        pathlib.Path
            ``path``
        """
        state = self.state()  # raises NotFittedError before anything is written
        with store.new_version(path) as tmp:
            write_state(self, state, tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, *, mmap: bool = True, verify: bool = False) -> Self:
        """Load a saved object of this class.

        Parameters
        ----------
        path : model directory written by :meth:`save`
        mmap : bool
            Map arrays from disk (instant start-up, pages shared between processes).
        verify : bool
            Check the sha256 of every file against the manifest first (reads everything).
        """
        return load_path(path, mmap=mmap, verify=verify, expect=cls)

    def warmup(self) -> Self:
        """Compile the kernels this object's queries use (no-op unless overridden)."""
        return self


def write_state(obj: Persistent, state: State, directory: Path) -> None:
    """Write ``state`` (of ``obj``) into the empty directory ``directory``, manifest last."""
    clash = _RESERVED & set(state.meta)
    if clash:
        raise ValueError(f"{type(obj).__name__}: metadata keys {sorted(clash)} are reserved")
    arrays: dict[str, Any] = {}
    for name, arr in state.arrays.items():
        _check_name(name)
        arrays[name] = _write_array(directory, name, arr)
    strings: dict[str, Any] = {}
    for name, values in state.strings.items():
        _check_name(name)
        buf, chars = encode_strings(values)
        _write_array(directory, f"{name}__utf8", buf)
        _write_array(directory, f"{name}__chars", chars)
        strings[name] = {"count": int(chars.shape[0] - 1)}
    children: dict[str, str] = {}
    for name, child in state.children.items():
        _check_name(name)
        (directory / name).mkdir()
        write_state(child, child.state(), directory / name)
        children[name] = child.format_name
    for name, text in state.readable.items():
        if Path(name).name != name or name == store.MANIFEST or name.endswith(".npy"):
            raise ValueError(f"invalid readable file name {name!r}")
        (directory / name).write_text(text, encoding="utf-8")
    files = {}
    for file in sorted(directory.iterdir()):
        if file.is_file():
            files[file.name] = {"bytes": file.stat().st_size, "sha256": store.file_digest(file)}
    for name in children:  # a child's manifest holds its own files' checksums
        child_manifest = directory / name / store.MANIFEST
        files[f"{name}/{store.MANIFEST}"] = {"bytes": child_manifest.stat().st_size,
                                             "sha256": store.file_digest(child_manifest)}
    manifest = {"format": obj.format_name, "version": obj.format_version,
                "written_by": f"xmr {xmr_version()}",
                "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "arrays": arrays, "strings": strings, "children": children, "files": files,
                **state.meta}
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    store.write_manifest(directory, manifest)


def _manifest_digest(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest's content (its own checksum left out), canonically serialized."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_name(name: str) -> None:
    if not name or not name.replace("_", "").isalnum() or "__" in name:
        raise ValueError(f"invalid part name {name!r}: letters, digits and single '_' only")


def _write_array(directory: Path, name: str, arr: np.ndarray) -> dict[str, Any]:
    arr = np.ascontiguousarray(arr)
    if arr.dtype.hasobject:
        raise ValueError(f"array {name!r} holds Python objects; it cannot be saved")
    np.save(directory / f"{name}.npy", arr, allow_pickle=False)
    return {"dtype": arr.dtype.str, "shape": list(arr.shape)}


def encode_strings(values: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes uint8, character offsets int64 (n + 1,)) of a list of strings.

    Lone surrogates are kept (``surrogatepass``), so every Python string round-trips.
    """
    values = list(values)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise ValueError(f"string {i} is a {type(v).__name__}, not a str")
    chars = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)), out=chars[1:])
    buf = np.frombuffer("".join(values).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    return buf, chars


def decode_strings(buf: np.ndarray, chars: np.ndarray) -> list[str]:
    """Inverse of :func:`encode_strings` (ValueError when the parts disagree)."""
    try:
        text = buf.tobytes().decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 at byte {exc.start}") from None
    if chars.ndim != 1 or chars.shape[0] < 1 or chars[0] != 0 or chars[-1] != len(text) \
            or (chars.shape[0] > 1 and np.any(np.diff(chars) < 0)):
        raise ValueError("its offsets do not match its text")
    out: list[str] = []
    chars = np.asarray(chars)  # a plain array: slices of a memmap are slow to make
    chunk = 10_000  # bounded C calls: a loading thread must not hold the GIL for long
    for lo in range(0, chars.shape[0] - 1, chunk):
        bounds = chars[lo:lo + chunk + 1].tolist()
        out += [text[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return out


class Stored:
    """A saved object being loaded: checked access to its parts.

    Every accessor raises :class:`~xmr.errors.ModelFormatError` naming the directory and the
    part when it is missing, unreadable, of the wrong dtype or shape, or holds values out of
    the range the kernels may index with.
    """

    def __init__(self, directory: Path, manifest: dict[str, Any], mmap: bool) -> None:
        self.path = directory
        self.manifest = manifest
        self.mmap = mmap

    # -- metadata -------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Format version of the saved object."""
        return int(self.manifest["version"])

    def meta(self, key: str, kind: type | tuple[type, ...] | None = None,
             default: Any = _MISSING) -> Any:
        """A metadata value; ``kind`` checks its JSON type (ints are not bools)."""
        if key not in self.manifest:
            if default is not _MISSING:
                return default
            raise self.error(f"the manifest lacks {key!r}")
        value = self.manifest[key]
        if kind is not None:
            kinds = kind if isinstance(kind, tuple) else (kind,)
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise self.error(f"manifest key {key!r} has the wrong type "
                                 f"({type(value).__name__})")
        return value

    def count(self, key: str) -> int:
        """A non-negative integer from the manifest."""
        value = self.meta(key, int)
        if value < 0:
            raise self.error(f"manifest key {key!r} is negative ({value})")
        return value

    def config(self, cls: type[T]) -> T:
        """The saved ``config`` parsed by a Config class (ModelFormatError when invalid)."""
        from ..errors import ConfigError

        try:
            return cls.from_dict(self.meta("config", dict, {}))  # type: ignore[attr-defined]
        except ConfigError as exc:
            raise self.error(f"invalid config ({exc})") from None

    def error(self, message: str) -> ModelFormatError:
        """A ModelFormatError about this directory (to raise)."""
        return ModelFormatError(f"{self.path}: {message}")

    def check(self, condition: bool, message: str) -> None:
        """Raise ``self.error(message)`` unless ``condition``."""
        if not condition:
            raise self.error(message)

    # -- parts ----------------------------------------------------------------------------------
    def array(self, name: str, dtype: Any = None, ndim: int | None = None,
              shape: tuple[int | None, ...] | None = None) -> np.ndarray:
        """Array ``name`` (memory-mapped when loading with ``mmap``).

        Parameters
        ----------
        dtype : expected numpy dtype (exact)
        ndim : expected number of dimensions
        shape : expected shape; None entries match any length
        """
        spec = self.meta("arrays", dict).get(name)
        if spec is None:
            raise self.error(f"the manifest lists no array {name!r}")
        return self._load_array(name, spec, dtype, ndim, shape)

    def has_array(self, name: str) -> bool:
        return name in self.meta("arrays", dict)

    def _load_array(self, name: str, spec: Any, dtype: Any, ndim: int | None,
                    shape: tuple[int | None, ...] | None) -> np.ndarray:
        file = self.path / f"{name}.npy"
        if not file.is_file():
            raise self.error(f"missing array file {file.name}")
        try:
            # always map first: a damaged header cannot make np.load allocate a huge array.
            # Copy-on-write ("c"), not read-only: pages stay shared with the page cache (nothing
            # writes them), and numba sees the same array type as for a model just trained, so
            # the inference kernels are compiled once, not again for read-only arrays.
            arr = np.load(file, mmap_mode="c", allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - a damaged header fails in many ways
            # (ValueError, EOFError, OSError, and tokenize errors from numpy's header parser)
            raise self.error(f"array {name!r} is unreadable ({type(exc).__name__}: "
                             f"{exc})") from None
        if isinstance(spec, dict) and (arr.dtype.str != spec.get("dtype")
                                       or list(arr.shape) != spec.get("shape")):
            raise self.error(f"array {name!r} is {arr.dtype.str}{list(arr.shape)} but the "
                             f"manifest says {spec.get('dtype')}{spec.get('shape')}")
        if dtype is not None and arr.dtype != np.dtype(dtype):
            raise self.error(f"array {name!r} has dtype {arr.dtype}, expected "
                             f"{np.dtype(dtype)}")
        if ndim is not None and arr.ndim != ndim:
            raise self.error(f"array {name!r} has {arr.ndim} dimensions, expected {ndim}")
        if shape is not None:
            if arr.ndim != len(shape) or any(s is not None and s != a
                                             for s, a in zip(shape, arr.shape, strict=True)):
                raise self.error(f"array {name!r} has shape {arr.shape}, expected {shape}")
        if not self.mmap:
            arr = np.array(arr)
        return arr

    def strings(self, name: str, count: int | None = None) -> list[str]:
        """List of strings ``name`` (``count`` checks its length)."""
        spec = self.meta("strings", dict).get(name)
        if spec is None:
            raise self.error(f"the manifest lists no strings {name!r}")
        buf = self._load_array(f"{name}__utf8", None, np.uint8, 1, None)
        chars = self._load_array(f"{name}__chars", None, np.int64, 1, None)
        try:
            values = decode_strings(buf, chars)
        except ValueError as exc:
            raise self.error(f"strings {name!r}: {exc}") from None
        expected = spec.get("count") if isinstance(spec, dict) else None
        if expected != len(values) or (count is not None and count != len(values)):
            raise self.error(f"strings {name!r} hold {len(values)} entries, expected "
                             f"{count if count is not None else expected}")
        return values

    def child(self, name: str, cls: type[T] | None = None) -> T:
        """The child saved in sub-directory ``name`` (of class ``cls`` when given)."""
        children = self.meta("children", dict, {})
        if name not in children and not (self.path / name / store.MANIFEST).is_file():
            raise self.error(f"missing part {name!r}")
        return load_flat(self.path / name, mmap=self.mmap, expect=cls)

    def text(self, name: str) -> str:
        """A UTF-8 text file of the directory (formats written by xmr 0.1)."""
        file = self.path / name
        try:
            return file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise self.error(f"missing file {name}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise self.error(f"{name} is unreadable ({exc})") from None

    # -- structural checks for arrays that kernels index with -----------------------------------
    def check_pointers(self, name: str, arr: np.ndarray, total: int | None = None,
                       strict: bool = False) -> None:
        """``arr`` starts at 0, never decreases (increases when ``strict``) and ends at
        ``total``."""
        if arr.shape[0] == 0 or arr[0] != 0:
            raise self.error(f"array {name!r} does not start at 0")
        steps = np.diff(arr)
        if steps.size and (steps.min() <= 0 if strict else steps.min() < 0):
            at = int(np.flatnonzero(steps <= 0 if strict else steps < 0)[0])
            raise self.error(f"array {name!r} decreases at position {at}")
        if total is not None and int(arr[-1]) != total:
            raise self.error(f"array {name!r} ends at {int(arr[-1])}, expected {total}")

    def check_range(self, name: str, arr: np.ndarray, low: int, high: int) -> None:
        """Every value of ``arr`` lies in ``[low, high)``."""
        if arr.size and (int(arr.min()) < low or int(arr.max()) >= high):
            raise self.error(f"array {name!r} holds values outside [{low}, {high})")

    def check_permutation(self, name: str, arr: np.ndarray) -> None:
        """``arr`` is a permutation of ``range(len(arr))``."""
        n = arr.shape[0]
        self.check_range(name, arr, 0, max(n, 1))
        if n and np.bincount(arr, minlength=n).max() != 1:
            raise self.error(f"array {name!r} is not a permutation")


# -- loading -------------------------------------------------------------------------------------
def load_flat(directory: Path, *, mmap: bool, expect: type[T] | None = None) -> T:
    """Load the object saved in the flat directory ``directory``."""
    from .formats import format_class

    manifest = store.read_manifest(directory)
    cls = format_class(manifest["format"], directory)
    if expect is not None and not issubclass(cls, expect):
        raise ModelFormatError(f"{directory}: holds a {manifest['format']!r} model, expected "
                               f"{getattr(expect, 'format_name', '') or expect.__name__!r}")
    version = manifest["version"]
    if not cls.min_format_version <= version <= cls.format_version:
        raise ModelFormatError(
            f"{directory}: {manifest['format']} format version {version} is not supported "
            f"(this xmr reads versions {cls.min_format_version}..{cls.format_version}"
            f"{'; retrain the model' if version < cls.min_format_version else ''})")
    _check_file_sizes(directory, manifest)
    return cls.from_stored(Stored(directory, manifest, mmap))


def load_path(path: str | os.PathLike, *, mmap: bool = True, verify: bool = False,
              expect: type[T] | None = None) -> T:
    """Load the live version of the model saved at ``path`` (any registered format).

    A save that replaces the model while it is being read makes the load start again on the
    new version (a few times at most), so the result is always one whole saved model.
    """
    last: ModelFormatError | None = None
    for _ in range(5):
        directory = store.resolve(path)
        try:
            if verify:
                verify_tree(directory)
            return load_flat(directory, mmap=mmap, expect=expect)
        except ModelFormatError as exc:
            if store.resolve(path) == directory:
                raise
            last = exc  # replaced while reading: read the new version
    assert last is not None
    raise last


def _check_file_sizes(directory: Path, manifest: Mapping[str, Any]) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict):
        return  # written by xmr 0.1: no file list
    for name, spec in files.items():
        file = directory / name
        try:
            size = file.stat().st_size
        except OSError:
            raise ModelFormatError(f"{directory}: missing file {name}") from None
        if not isinstance(spec, dict) or spec.get("bytes") != size:
            raise ModelFormatError(f"{directory}: {name} has {size} bytes, the manifest says "
                                   f"{spec.get('bytes') if isinstance(spec, dict) else spec}")


def verify_tree(directory: Path, progress: Callable[[str], None] | None = None) -> int:
    """Check the sha256 of every file listed by the manifests below ``directory``.

    Returns the number of files checked; raises ModelFormatError at the first mismatch, or when
    a manifest holds no checksums (written by xmr 0.1).
    """
    manifest = store.read_manifest(directory)
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ModelFormatError(f"{directory}: no checksums recorded (written by "
                               f"{manifest.get('written_by', 'xmr 0.1')}); cannot verify")
    if manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise ModelFormatError(f"{directory}: manifest.json is damaged (its content does not "
                               "match its checksum)")
    n = 0
    for name, spec in sorted(files.items()):
        file = directory / name
        if not file.is_file():
            raise ModelFormatError(f"{directory}: missing file {name}")
        digest = store.file_digest(file)
        if not isinstance(spec, dict) or digest != spec.get("sha256"):
            raise ModelFormatError(f"{directory}: {name} is damaged (its sha256 does not match "
                                   f"the manifest)")
        n += 1
        if progress is not None:
            progress(f"ok {file}")
    for child in manifest.get("children", {}) or {}:
        n += verify_tree(directory / child, progress)
    return n


def describe(path: str | os.PathLike) -> dict[str, Any]:
    """Format, version, writer, sizes on disk, config and training statistics of a saved model
    (and of its children), without loading any array."""
    directory = store.resolve(path)
    return _describe_dir(directory)


def _describe_dir(directory: Path) -> dict[str, Any]:
    manifest = store.read_manifest(directory)
    arrays = manifest.get("arrays", {}) or {}
    out: dict[str, Any] = {
        "path": str(directory),
        "format": manifest["format"],
        "version": manifest["version"],
        "written_by": manifest.get("written_by", "xmr 0.1"),
        "created": manifest.get("created"),
        "bytes": store.tree_size(directory),
        "arrays": {name: {**spec, "bytes": _size(directory / f"{name}.npy")}
                   for name, spec in arrays.items() if isinstance(spec, dict)},
    }
    for key, value in manifest.items():
        if key not in _RESERVED:
            out[key] = value
    children = manifest.get("children")
    if not isinstance(children, dict):  # xmr 0.1: sub-directories with manifests
        children = {p.name: None for p in sorted(directory.iterdir())
                    if (p / store.MANIFEST).is_file()}
    out["children"] = {name: _describe_dir(directory / name) for name in children}
    return out


def _size(file: Path) -> int | None:
    try:
        return file.stat().st_size
    except OSError:
        return None
