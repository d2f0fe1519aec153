"""The real thing: ``xmr serve`` in a subprocess, hammered while it reloads, and a real Chromium
driving the type-ahead page (Playwright; Debian's ``chromium``, which ``.ci/run`` installs)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

httpx = pytest.importorskip("httpx")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(model_dirs, tmp_path_factory):
    """``xmr serve`` on a free port with copies of the qac and retrieval models."""
    root = tmp_path_factory.mktemp("live")
    dirs = {name: shutil.copytree(model_dirs[name], root / name) for name in ("qac", "ret")}
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "xmr", "-q", "serve", str(dirs["qac"]),
                             str(dirs["ret"]), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the server did not become ready: {proc.stdout.read()[-2000:]}")
        time.sleep(0.1)
    yield url, proc, dirs
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_no_request_fails_across_reloads(server, loaded):
    url, proc, dirs = server
    statuses: list[int] = []
    stop = threading.Event()

    def hammer(path: str, body: dict) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set():
                statuses.append(client.post(path, json=body).status_code)

    threads = [threading.Thread(target=hammer, args=a) for a in (
        ("/v1/models/qac/complete", {"prefix": "ga", "previous": "gift card"}),
        ("/v1/models/ret/search", {"query": "garden hose"}),
        ("/v1/models/qac/complete/batch", {"inputs": [{"prefix": "g"}, {"prefix": "go"}]}))]
    for t in threads:
        t.start()
    try:
        generations = []
        for _ in range(2):
            loaded["qac"].save(dirs["qac"])  # a new version appears ...
            reply = httpx.post(f"{url}/v1/models/qac/reload", timeout=60)  # ... and goes live
            assert reply.status_code == 200, reply.text
            generations.append(reply.json()["generation"])
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert generations == [2, 3]
    assert len(statuses) > 50 and set(statuses) == {200}
    metrics = httpx.get(f"{url}/metrics").text
    assert 'xmr_model_generation{model="qac"} 3.0' in metrics


def test_sighup_reloads_every_model(server):
    url, proc, _ = server
    before = {m["name"]: m["generation"] for m in httpx.get(f"{url}/v1/models").json()["models"]}
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = {m["name"]: m["generation"] for m in httpx.get(f"{url}/v1/models").json()["models"]}
        if all(now[n] == before[n] + 1 for n in before):
            break
        time.sleep(0.1)
    assert now == {n: g + 1 for n, g in before.items()}
    assert proc.poll() is None  # SIGHUP did not stop the server


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: apt-get install chromium (.ci/run "
                                             "does it)")
def test_typeahead_page_in_a_real_browser(server):
    playwright = pytest.importorskip("playwright.sync_api")
    url, _, _ = server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            page = browser.new_page()
            page.goto(url + "/")
            page.wait_for_function("document.getElementById('models').textContent"
                                   ".includes('completion: qac')")
            page.locator("#q").press_sequentially("ga", delay=50)
            page.wait_for_selector("#suggestions li")
            first = page.locator("#suggestions li").first.text_content()
            assert first.startswith("ga")
            page.keyboard.press("ArrowDown")
            assert page.locator("#suggestions li").first.get_attribute("aria-selected") == "true"
            page.keyboard.press("Enter")
            assert page.locator("#q").input_value() == first
            page.wait_for_selector("#results li")
            assert page.locator("#results li").count() > 0
            page.wait_for_function("/search [0-9.]+ ms/.test("
                                   "document.getElementById('timing').textContent)")
        finally:
            browser.close()
