"""How long does loading a model keep other threads from running? (the server's reload case)

    python -m benchmarks.reload_gil

Loads the served Home Depot retriever and AOL autocompleter once (imports and numba set-up, as
at server start), then loads and warms both again while a second thread wakes every 1 ms and
records how long it actually waited. A wait far above 1 ms means the loading thread held the
GIL in one long call; the report names where the loader stood when the waiter got the GIL
back. Prints the ten longest waits. Uses ``benchmarks.serve``'s models (trained on first use).
"""

from __future__ import annotations

import sys
import threading
import time
import traceback

from benchmarks.serve import DATA, _models


def main(argv=None) -> int:
    if not (DATA / "homedepot-search" / "pairs.csv.gz").exists():
        print(f"skipping: {DATA} is absent (see shared/data)")
        return 0
    import xmr

    paths = _models()
    for path in paths.values():
        xmr.load(path).warmup()
    loader = threading.get_ident()
    waits: list[tuple[float, str]] = []
    stop = threading.Event()

    def waiter() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            if now - last > 0.004:
                frame = sys._current_frames().get(loader)
                where = traceback.extract_stack(frame)[-1] if frame is not None else None
                waits.append((now - last, f"{where.filename.rsplit('/', 1)[-1]}:{where.lineno} "
                                          f"{where.name}" if where else "?"))
            last = now

    thread = threading.Thread(target=waiter)
    thread.start()
    t0 = time.perf_counter()
    for path in paths.values():
        xmr.load(path).warmup()
    seconds = time.perf_counter() - t0
    stop.set()
    thread.join()
    print(f"reload + warm-up of {', '.join(paths)}: {seconds:.2f} s")
    for wait, where in sorted(waits, reverse=True)[:10]:
        print(f"  {wait * 1e3:6.1f} ms  loader at {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
