"""Headless Chromium for the tests: installed from Debian when missing, driven over DevTools.

:func:`ensure_chromium` installs Debian's ``chromium`` package with apt-get when no Chromium is
on PATH (CI runs as root on a fresh machine). :class:`Page` opens a file in headless Chromium
through the DevTools protocol (``websockets``, already a dependency of Dagster's webserver) and
records every request the page makes, so a test can assert that none leaves the machine, run
JavaScript in the page, take a full-page screenshot and print the page to PDF as Chromium's print
dialog would (:meth:`Page.print_pdf`; :func:`pdf_pages` reads the pages' sizes back).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from tests.apt_helpers import ensure_installed

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium() -> str:
    """The path of a Chromium binary, installing Debian's package (apt-get, as root) if needed."""
    found = ensure_installed(find_chromium, "chromium", "fonts-dejavu-core", recommends=False)
    if not found:
        raise RuntimeError("Chromium is not installed, and the tests can install it only as root with apt-get: "
                           "install it with `apt-get install -y chromium`")
    return found


class Page:
    """One page in a headless Chromium, over the DevTools protocol."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="csc-chromium-")
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", "--mute-audio", f"--window-size={width},{height}",
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port = self._port()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self.send("Page.enable")
        self.send("Network.enable")
        self.send("Runtime.enable")

    def _port(self, timeout: float = 60) -> int:
        active = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if active.exists() and active.read_text().strip():
                return int(active.read_text().splitlines()[0])
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port")

    def _record(self, msg: dict[str, Any]) -> None:
        self.events.append(msg)
        if msg.get("method") == "Network.requestWillBeSent":
            self.requests.append(msg["params"]["request"]["url"])
        elif msg.get("method") == "Network.webSocketCreated":
            self.requests.append(msg["params"]["url"])

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 120) -> dict[str, Any]:
        mid = next(self._ids)
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._record(msg)

    def wait_for(self, method: str, timeout: float = 120) -> dict[str, Any]:
        for msg in self.events:
            if msg.get("method") == method:
                return msg
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self._record(msg)
            if msg.get("method") == method:
                return msg

    def open(self, url: str, timeout: float = 120) -> None:
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired", timeout)

    def evaluate(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate",
                        {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """A full-page PNG."""
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def screenshot_of(self, selector: str, path: Path, padding: int = 8) -> Path:
        """A PNG of the element ``selector`` (its bounding box and ``padding`` pixels around it)."""
        box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                            ".getBoundingClientRect();"
                            " return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })()")
        x, y = max(box[0] - padding, 0), max(box[1] - padding, 0)
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": x, "y": y, "width": box[2] + 2 * padding, "height": box[3] + 2 * padding, "scale": 1}})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def print_pdf(self, **params: Any) -> bytes:
        """The page printed to PDF, its page size and margins from the page's CSS (``@page``) and
        its backgrounds printed, as a browser's print dialog does by default for this page."""
        res = self.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True, **params})
        return base64.b64decode(res["data"])

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


A4_LANDSCAPE_POINTS = (841.89, 595.28)  # 297 x 210 mm in PDF points


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """(width, height) in points of every page of a PDF Chromium printed (its page objects are
    plain dictionaries, each with its own /MediaBox); checked against the page tree's /Count."""
    pages = re.findall(rb"/Type\s*/Page(?![s\w])(.*?)endobj", pdf, re.S)
    sizes = []
    for page in pages:
        box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", page)
        if box is None:
            raise AssertionError("a page without its own /MediaBox")
        x0, y0, x1, y1 = (float(v) for v in box.groups())
        sizes.append((x1 - x0, y1 - y0))
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf, re.S)]
    if not counts or max(counts) != len(sizes):
        raise AssertionError(f"the page tree counts {counts}, the file has {len(sizes)} page objects")
    return sizes
