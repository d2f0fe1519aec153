"""Damage every file of every committed model fixture and record what loading and querying do.

    python -m tests.corruption [--bitflips 8] [--seed 0] [--only NAME]

Each case changes one file of a copy of a fixture (truncated, emptied, filled with garbage, its
array values pushed out of range, or one random bit flipped), then loads the model and computes
its outputs, without and with ``verify=True``. An outcome is ``error`` (an xmr error: the clean
result), ``same`` (the damage did not change the answers), ``different`` (it did, silently),
or ``raw`` (any other exception: a traceback a user would see). A crash or a hang ends this
process, so the caller (``tests/unit/test_corruption.py``) sees it. Prints one JSON summary.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"


def same_outputs(got, want) -> bool:
    """Equal structure; floats within 1e-4, everything else exactly."""
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(
            same_outputs(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, dict):
        return isinstance(got, dict) and set(got) == set(want) and all(
            same_outputs(got[k], want[k]) for k in want)
    if isinstance(want, float):
        return isinstance(got, (int, float)) and abs(got - want) <= 1e-4
    return got == want


def _mutations(file: Path, rng: np.random.Generator, n_bitflips: int):
    """(name, new bytes) of the damages applied to ``file``."""
    raw = file.read_bytes()
    yield "empty", b""
    if len(raw) > 1:
        yield "truncated", raw[: len(raw) // 2]
        yield "garbage", rng.integers(0, 256, len(raw), dtype=np.uint8).tobytes()
    if file.suffix == ".npy" and len(raw) > 128:
        arr = np.load(file, allow_pickle=False)
        header = raw[: len(raw) - arr.nbytes]
        if arr.size:
            for name, fill in _extreme_values(arr, rng):
                yield name, header + np.ascontiguousarray(fill).tobytes()
    for _ in range(n_bitflips if raw else 0):
        bit = int(rng.integers(0, len(raw) * 8))
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        yield f"bitflip@{bit}", bytes(flipped)


def _extreme_values(arr: np.ndarray, rng: np.random.Generator):
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        yield "values-max", np.full_like(arr, info.max)
        yield "values-min", np.full_like(arr, info.min)
        yield "values-shuffled", rng.permutation(arr.ravel()).reshape(arr.shape)
        bumped = arr.copy()
        bumped.flat[int(rng.integers(0, arr.size))] += 1 if bumped.flat[0] < info.max else -1
        yield "values-one-off", bumped
    elif np.issubdtype(arr.dtype, np.floating):
        yield "values-nan", np.full_like(arr, np.nan)
        yield "values-inf", np.full_like(arr, np.inf)


def _outcome(path: Path, name: str, expected: dict, verify: bool) -> str:
    import xmr
    from tests.data.fixture_models import RUNNERS

    try:
        model = xmr.load(path, verify=verify)
        got = RUNNERS[name](model, expected["inputs"])
    except xmr.XmrError:
        return "error"
    except Exception as exc:  # noqa: BLE001 - what we are looking for
        return f"raw:{type(exc).__name__}:{str(exc)[:120]}"
    return "same" if same_outputs(got, expected["outputs"]) else "different"


def run(bitflips: int, seed: int, only: str | None = None) -> dict:
    rng = np.random.default_rng(seed)
    counts: dict[str, Counter] = {"plain": Counter(), "verify": Counter()}
    raw_cases: list[str] = []
    missed_by_verify: list[str] = []
    fixtures = sorted(p for p in DATA.iterdir() if p.is_dir() and "_v" in p.name)
    for fixture in fixtures:
        name = fixture.name.rsplit("_v", 1)[0]
        if only and name != only:
            continue
        expected = json.loads((DATA / f"{fixture.name}_expected.json").read_text())
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / fixture.name
            shutil.copytree(fixture, copy)
            has_checksums = "files" in json.loads((copy / "manifest.json").read_text())
            for file in sorted(p for p in copy.rglob("*") if p.is_file()):
                original = file.read_bytes()
                for what, damaged in _mutations(file, rng, bitflips):
                    if damaged == original:
                        continue
                    file.write_bytes(damaged)
                    case = f"{fixture.name}/{file.relative_to(copy)} {what}"
                    print(case, file=sys.stderr, flush=True)  # the last line names a crash
                    plain = _outcome(copy, name, expected, verify=False)
                    counts["plain"][plain.split(":")[0]] += 1
                    if plain.startswith("raw"):
                        raw_cases.append(f"{case}: {plain}")
                    if has_checksums and not file.name.endswith(".tsv"):
                        checked = _outcome(copy, name, expected, verify=True)
                        counts["verify"][checked.split(":")[0]] += 1
                        if checked != "error":
                            missed_by_verify.append(f"{case}: {checked}")
                    file.write_bytes(original)
    return {"cases": sum(counts["plain"].values()), "plain": dict(counts["plain"]),
            "verify": dict(counts["verify"]), "raw": raw_cases,
            "missed_by_verify": missed_by_verify}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bitflips", type=int, default=8, help="random bit flips per file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default=None, help="one format name, e.g. xlinear")
    args = p.parse_args(argv)
    print(json.dumps(run(args.bitflips, args.seed, args.only)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
