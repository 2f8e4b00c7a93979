"""The run report in a real browser: headless Chromium loads ``report.html`` of a real run.

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so no websocket client or browser
driver is needed. The test records every console message, uncaught exception, log entry and
network request while the page loads, waits until every circuitsvis view has rendered, clicks a
layer of the first circuit graph, and saves a full-page screenshot to
``outputs/test-artifacts/report.png``.

Chromium comes from the Debian package (``apt-get install chromium``; ``.ci/run`` installs it);
without it the test is skipped.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from circuits.paths import REPO_DIR

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
SCREENSHOT = REPO_DIR / "outputs" / "test-artifacts" / "report.png"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe", "--window-size=1280,900"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian: apt-get install chromium)")


class Browser:
    """A headless Chromium process and a DevTools session on one page."""

    def __init__(self, user_data_dir: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4: move the pipe ends above
        # the low descriptors first so the two dup2 calls cannot overwrite each other.
        hi_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._log = open(user_data_dir.parent / "chromium.log", "wb")
        self.pid = os.posix_spawn(CHROMIUM, [CHROMIUM, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
                                  os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, hi_r, 3),
                                                            (os.POSIX_SPAWN_DUP2, hi_w, 4),
                                                            (os.POSIX_SPAWN_DUP2, self._log.fileno(), 1),
                                                            (os.POSIX_SPAWN_DUP2, self._log.fileno(), 2)])
        os.close(hi_r)
        os.close(hi_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("no reply from chromium")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, timeout: float = 60.0, **params: Any) -> dict[str, Any]:
        """Send a command (to the page session once attached) and return its result; events that
        arrive meanwhile are kept in :attr:`events`."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["method"] == method:
                    return e
            msg = self._read_message(deadline)
            if "method" in msg:
                self.events.append(msg)

    def evaluate(self, expression: str, timeout: float = 60.0) -> Any:
        res = self.send("Runtime.evaluate", timeout, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def open_page(self) -> None:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        self._log.close()


def _messages(events: list[dict[str, Any]], levels: tuple[str, ...]) -> list[str]:
    """Console messages and browser log entries at ``levels``, uncaught exceptions, and every
    request that is not for a local file or an inline data URI."""
    out = []
    for e in events:
        p = e.get("params", {})
        if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in levels:
            out.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif e["method"] == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            out.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
        elif e["method"] == "Log.entryAdded" and p["entry"]["level"] in levels:
            out.append(f"log {p['entry']['level']} ({p['entry']['source']}): {p['entry']['text']}")
        elif e["method"] == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if not url.startswith(("file:", "data:", "about:")):
                out.append(f"network request: {url}")
    return out


def test_report_loads_in_chromium_without_errors(small_run, tmp_path):
    report = small_run / "report.html"
    assert report.exists(), "the report stage did not write report.html"
    (tmp_path / "profile").mkdir()
    browser = Browser(tmp_path / "profile")
    try:
        browser.open_page()
        start = time.monotonic()
        browser.send("Page.navigate", url=report.resolve().as_uri())
        browser.wait_for("Page.loadEventFired")
        load_seconds = time.monotonic() - start
        # Views render when scrolled to: bring each into view and wait for its content.
        rendered = browser.evaluate(
            "(async () => {for (const d of document.querySelectorAll('div.cv-root')) {d.scrollIntoView();"
            " const t0 = performance.now();"
            " while (d.childElementCount === 0 && performance.now() - t0 < 30000)"
            " await new Promise(r => setTimeout(r, 50));}"
            " window.scrollTo(0, 0);"
            " return [...document.querySelectorAll('div.cv-root')].every(d => d.childElementCount > 0);})()",
            timeout=600)
        render_seconds = time.monotonic() - start - load_seconds
        assert rendered, "some circuitsvis views did not render"
        counts = browser.evaluate("({views: document.querySelectorAll('div.cv-root').length,"
                                  " images: [...document.images].filter(i => i.complete && i.naturalWidth > 0).length,"
                                  " allImages: document.images.length,"
                                  " graphs: document.querySelectorAll('svg.circuit').length,"
                                  " canvases: document.querySelectorAll('canvas').length})")
        # A click on a layer of the first circuit graph dims the other layers' nodes, once (not
        # undone by a second handler from another graph's script).
        dimmed = browser.evaluate(
            "(() => {const svg = document.querySelector('svg.circuit');"
            " svg.querySelector('rect.layer[data-layer=\"1\"]').dispatchEvent(new MouseEvent('click'));"
            " return [...svg.querySelectorAll('circle.node')].map(c => [c.getAttribute('data-layer'),"
            " c.getAttribute('fill-opacity')]);})()")
        browser.evaluate("document.querySelector('svg.circuit rect.layer[data-layer=\"1\"]')"
                         ".dispatchEvent(new MouseEvent('click'))")
        # Let the renderer paint a frame after the last layout: a capture taken at once can show
        # the page before the views' late layout (the enlarged attention patterns collapsed).
        browser.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(1))))")
        size = browser.send("Page.getLayoutMetrics")["cssContentSize"]
        # The whole page, scaled to stay within Chromium's 16k-pixel capture limit.
        scale = min(0.75, 16000 / size["height"])
        shot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": scale})
    finally:
        browser.close()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(base64.b64decode(shot["data"]))
    print(f"\nreport: {counts}; loaded in {load_seconds:.1f} s, views rendered in {render_seconds:.1f} s; "
          f"screenshot {SCREENSHOT}")

    # Warnings are shown, not failed on: software WebGL (no GPU here) logs performance notes.
    for line in dict.fromkeys(_messages(browser.events, ("warning",))):
        print("  browser:", line[:200])
    assert _messages(browser.events, ("error", "assert")) == []
    assert counts["images"] == counts["allImages"] == len(list(small_run.glob("*/*.png")))
    assert counts["views"] > 0 and counts["canvases"] > 0, "no circuitsvis view rendered"
    assert counts["graphs"] == len(list(small_run.glob("circuits/circuit_*.json")))
    assert all(op == ("0.75" if layer == "1" else "0.15") for layer, op in dimmed), dimmed
    assert SCREENSHOT.stat().st_size > 10_000
