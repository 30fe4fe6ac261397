"""The HTML report in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven over the
Chrome DevTools Protocol with a WebSocket client written on the standard library only.

Asserts that the samples' report loads without console errors, CSP violations or exceptions, that no
request leaves the file (only the file itself and ``data:``), that the findings tables and the SVG
charts are visible, and that sorting and filtering work.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--disable-extensions", "--mute-audio"]
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocket:
    """The client side of RFC 6455, enough for CDP: masked text frames out, (fragmented) frames in."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        assert url.startswith("ws://"), url
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port or 80)), timeout=timeout)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        assert " 101 " in lines[0] + " ", lines[0]
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        assert headers.get("sec-websocket-accept") == accept, "bad Sec-WebSocket-Accept"

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = secrets.token_bytes(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, text: str) -> None:
        self._send_frame(0x1, text.encode("utf-8"))

    def recv(self) -> str:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._read(8))
            mask = self._read(4) if b1 & 0x80 else b""
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, data)
                continue
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            if opcode in (0x0, 0x1, 0x2):
                parts.append(data)
                if fin:
                    return b"".join(parts).decode("utf-8")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send_frame(0x8, b"")
        self.sock.close()


class CDP:
    """Commands and events over one browser-level connection (flattened sessions)."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            if "method" in reply:
                self.events.append(reply)
        raise TimeoutError(method)

    def wait_event(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        for e in self.events:
            if e["method"] == method:
                return e
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        raise TimeoutError(method)


class Page:
    """One tab of a headless Chromium, attached with Runtime, Log, Network and Page enabled."""

    def __init__(self, cdp: CDP, session: str) -> None:
        self.cdp, self.session = cdp, session

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.cdp.call(method, params, session=self.session)

    def eval(self, expression: str) -> Any:
        res = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise RuntimeError(res["exceptionDetails"])
        return res["result"].get("value")

    def goto(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})
        self.cdp.wait_event("Page.loadEventFired", timeout=60)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def events(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.cdp.events if e["method"] == method and e.get("sessionId") == self.session]


@contextlib.contextmanager
def chromium(tmp: Path, *, width: int = 1400, height: int = 1000) -> Iterator[Page]:
    """Start headless Chromium on a free debugging port and yield an attached blank page."""
    profile = tmp / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    port_file = profile / "DevToolsActivePort"
    port_file.unlink(missing_ok=True)  # a stale one from an earlier run names a dead port
    log = (tmp / "chromium.log").open("wb")
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                             f"--window-size={width},{height}", "about:blank"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    ws: WebSocket | None = None
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Chromium did not start: " + (tmp / "chromium.log").read_text(errors="replace"))
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        ws = WebSocket(f"ws://127.0.0.1:{port}{path}")
        cdp = CDP(ws)
        target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(cdp, session)
        for domain in ("Runtime", "Log", "Network", "Page"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        yield page
    finally:
        if ws is not None:
            ws.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason="Chromium not installed: apt-get install chromium")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def samples_result() -> Any:
    import fundaudit

    result = fundaudit.audit(paths=[ROOT / "samples"], profile="anhui-2016", period="2016",
                             argv=["fundaudit", "audit", "samples/"])
    assert len(result.findings), "the samples produce findings"
    return result


@pytest.fixture(scope="module")
def samples_report(samples_result: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fundaudit.report.html import write_html

    return write_html(samples_result, tmp_path_factory.mktemp("html") / "index.html")


VISIBLE = """(() => {
  const shown = el => { if (!el) return false; const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const rows = [...document.querySelectorAll('table.findings tr.f')];
  const svgs = [...document.querySelectorAll('svg.chart')];
  return {rows: rows.length, rowsVisible: rows.filter(shown).length,
          tables: document.querySelectorAll('table.findings').length,
          svgs: svgs.length, svgVisible: svgs.filter(shown).length,
          svgInFirstScreen: svgs.filter(s => shown(s) && s.getBoundingClientRect().top < innerHeight).length,
          bars: document.querySelectorAll('svg.chart rect').length,
          scripts: document.scripts.length, title: document.title, lang: document.documentElement.lang};
})()"""


@needs_chromium
def test_report_in_headless_chromium(samples_report: Path, tmp_path: Path) -> None:
    url = samples_report.resolve().as_uri()
    with chromium(tmp_path) as page:
        page.goto(url)
        state = page.eval(VISIBLE)
        assert state["tables"] >= 1 and state["rows"] >= 1, state
        assert state["rowsVisible"] == state["rows"], state
        assert state["svgs"] == 3 and state["svgVisible"] == 3 and state["svgInFirstScreen"] >= 1, state
        assert state["bars"] >= 1, state
        assert state["scripts"] == 1 and state["lang"] == "zh-CN", state

        # filtering: a needle no row contains hides everything and says so; clearing restores
        hidden = page.eval("""(async () => {
          const q = document.getElementById('fq'); q.value = 'zz-no-such-text-zz';
          q.dispatchEvent(new Event('input')); await new Promise(r => setTimeout(r, 400));
          const visible = [...document.querySelectorAll('tr.f')].filter(r => !r.hidden).length;
          const none = !document.getElementById('fnone').hidden;
          q.value = ''; q.dispatchEvent(new Event('input')); await new Promise(r => setTimeout(r, 400));
          return {visible, none, after: [...document.querySelectorAll('tr.f')].filter(r => !r.hidden).length,
                  count: document.getElementById('fcount').textContent};
        })()""")
        assert hidden["visible"] == 0 and hidden["none"], hidden
        assert hidden["after"] == state["rows"], hidden
        # severity checkboxes: unticking every severity hides every row
        sev = page.eval("""(() => {
          const boxes = [...document.querySelectorAll('input.fsev')];
          boxes.forEach(b => { b.checked = false; b.dispatchEvent(new Event('change')); });
          const n = [...document.querySelectorAll('tr.f')].filter(r => !r.hidden).length;
          boxes.forEach(b => { b.checked = true; b.dispatchEvent(new Event('change')); });
          return n; })()""")
        assert sev == 0
        # sorting: clicking the amount header of the rule summary sorts it numerically, twice reverses
        order = page.eval("""(() => {
          const t = document.getElementById('rule-summary'); const th = t.tHead.rows[0].cells[4];
          const keys = () => [...t.tBodies[0].rows].map(r => Number(r.cells[4].getAttribute('data-v')));
          th.click(); const up = keys(); th.click(); const down = keys();
          return {up, down, sort: th.getAttribute('aria-sort')}; })()""")
        assert order["up"] == sorted(order["up"]), order
        assert order["down"] == sorted(order["down"], reverse=True), order
        assert order["sort"] == "descending"
        time.sleep(0.2)
        page.eval("1")  # drain pending events

        errors = [e for e in page.events("Runtime.consoleAPICalled") if e.get("type") in ("error", "assert")]
        exceptions = page.events("Runtime.exceptionThrown")
        log_errors = [e["entry"] for e in page.events("Log.entryAdded") if e["entry"].get("level") == "error"]
        assert not errors, errors
        assert not exceptions, exceptions
        assert not log_errors, log_errors  # CSP violations are reported here
        urls = [e["request"]["url"] for e in page.events("Network.requestWillBeSent")]
        assert url in urls
        leaving = [u for u in urls if u != url and not u.startswith("data:")]
        assert not leaving, leaving


@needs_chromium
def test_report_first_screen_screenshot(samples_report: Path, tmp_path: Path) -> None:
    """The first screen renders (a PNG of the viewport, with the charts in it); docs/screenshots/make.py
    writes the committed copy."""
    with chromium(tmp_path) as page:
        page.goto(samples_report.resolve().as_uri())
        shot = page.screenshot(tmp_path / "first-screen.png")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack("!II", data[16:24])
    assert (width, height) == (1400, 1000)
    assert len(data) > 20_000  # not a blank page



HEADERS_CLIPPED = """(() => {
  document.querySelectorAll('.rule-group, .lazy').forEach(g => { g.style.contentVisibility = 'visible'; });
  const out = [];
  document.querySelectorAll('table').forEach(t => {
    if (!t.tHead) return;
    [...t.tHead.rows[0].cells].forEach(h => {
      if (h.scrollWidth > h.clientWidth + 1) {
        out.push([t.id || t.className, h.textContent, h.scrollWidth, h.clientWidth]);
      }
    });
  });
  return {clipped: out, findingsHeaders: document.querySelectorAll('table.findings th').length};
})()"""


@needs_chromium
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [1400, 1000])
def test_no_column_header_is_clipped(samples_result: Any, lang: str, width: int, tmp_path: Path) -> None:
    """Every header (findings tables: ID, severity, message, amount, values, source) fits its column in
    both languages, on a wide and a narrow window (the findings table is laid out with fixed widths)."""
    from fundaudit.report.html import write_html

    page_path = write_html(samples_result, tmp_path / f"{lang}.html", lang=lang)
    with chromium(tmp_path, width=width, height=900) as page:
        page.goto(page_path.resolve().as_uri())
        state = page.eval(HEADERS_CLIPPED)
    assert state["findingsHeaders"] >= 6, state
    assert not state["clipped"], state["clipped"][:6]
