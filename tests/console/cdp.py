"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no driver binary,
no websocket library, only the Debian chromium CI installs."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Any

BINARY = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
         "--remote-debugging-pipe", "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
         "--disable-backgrounding-occluded-windows"]


class ChromiumError(Exception):
    pass


class Chromium:
    """One headless Chromium with one page; `evaluate` runs JavaScript in it, `errors` collects page errors."""

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        assert BINARY is not None
        self.profile = tempfile.mkdtemp(prefix="dynamokit-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def child_fds() -> None:  # Chromium reads commands on fd 3 and writes answers on fd 4
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.process = subprocess.Popen(
            [BINARY, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            preexec_fn=child_fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: PLW1509 (dup2 only)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._ids = itertools.count(1)  # shared with the tabs (copies of this object), as are the answers
        self._answers: dict[int, dict[str, Any]] = {}
        self._arrived = threading.Condition()
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.width, self.height = width, height
        target = next(t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self._attach(target["targetId"])

    def _attach(self, target: str) -> str:
        session: str = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable"):
            self.send(domain, session=session)
        self.send("Emulation.setDeviceMetricsOverride", session=session, width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        return session

    def tab(self) -> Chromium:
        """Another tab of this browser (same cookies), driven like this one."""
        other = copy.copy(self)
        other.session = self._attach(self.send("Target.createTarget", url="about:blank")["targetId"])
        return other

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                data = os.read(self._from_chrome, 1 << 16)
            except OSError:
                data = b""
            if not data:
                with self._arrived:
                    self._answers[-1] = {"error": {"message": "Chromium exited"}}
                    self._arrived.notify_all()
                return
            buffer += data
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._arrived:
                        self._answers[message["id"]] = message
                        self._arrived.notify_all()
                elif message.get("method") == "Runtime.exceptionThrown":
                    self.errors.append(json.dumps(message["params"]["exceptionDetails"])[:500])
                elif message.get("method") == "Runtime.consoleAPICalled" and message["params"]["type"] == "error":
                    self.errors.append(json.dumps(message["params"]["args"])[:500])

    def send(self, method: str, *, session: bool | str = False, timeout: float = 30, **params: Any) -> dict[str, Any]:
        """A DevTools command: to the browser, or (`session`) to this tab or to the tab of that session id."""
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session if isinstance(session, str) else self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._arrived:
            while ident not in self._answers and -1 not in self._answers:
                if not self._arrived.wait(max(0.0, deadline - time.monotonic())):
                    raise ChromiumError(f"{method}: no answer in {timeout}s")
            answer = self._answers.pop(ident, None) or self._answers[-1]
        if "error" in answer:
            raise ChromiumError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})  # type: ignore[no-any-return]

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", session=True, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise ChromiumError(json.dumps(result["exceptionDetails"])[:500])
        return result["result"].get("value")

    def wait(self, expression: str, timeout: float = 20) -> Any:
        """Poll `expression` until it is truthy (navigations in between are fine)."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
                if value:
                    return value
            except ChromiumError as error:  # the page is navigating
                last = error
            time.sleep(0.1)
        raise ChromiumError(f"timed out waiting for {expression!r} ({last})")

    def open(self, url: str) -> None:
        self.send("Page.navigate", session=True, url=url)
        self.wait(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", session=True, format="png")["data"])

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except ChromiumError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        shutil.rmtree(self.profile, ignore_errors=True)
