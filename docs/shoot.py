"""Photograph a web page with headless Chromium after clicking the switches named on the
command line (e.g. MLflow's "Show diff only"), the whole page at the given width.

Usage: python docs/shoot.py URL OUT.png WIDTH [SWITCH_LABEL ...]
Needs `chromium` and the `websocket-client` package (the DevTools protocol); docs only.
"""

import base64
import itertools
import json
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

JS_CLICK = """(label) => {
  let n = 0;
  for (const h of [...document.querySelectorAll('label, span, div')]
         .filter(e => e.childElementCount === 0 && e.textContent.trim() === label)) {
    const box = h.closest('div, label').parentElement;
    const sw = box && box.querySelector('button[role=switch], input[type=checkbox]');
    if (sw) { sw.click(); n++; }
  }
  return n;
}"""
# The page scrolls inside a box: the screenshot must be as tall as the tallest one.
JS_HEIGHT = "() => Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))"


def main(url: str, out: str, width: int, *labels: str) -> None:
    port = 9333
    profile = tempfile.mkdtemp()
    chrome = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
         f"--window-size={width},1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                break
            except OSError:
                time.sleep(0.2)
        page = next(p for p in pages if p["type"] == "page")
        ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        ids = itertools.count(1)

        def call(method, **params):
            i = next(ids)
            ws.send(json.dumps({"id": i, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == i:
                    return msg.get("result", {})

        def js(fn, *args):
            expr = f"({fn})({', '.join(json.dumps(a) for a in args)})"
            return call("Runtime.evaluate", expression=expr, returnByValue=True)["result"]

        call("Page.navigate", url=url)
        time.sleep(12)                      # the single-page app fetches and renders
        for label in labels:
            if not js(JS_CLICK, label).get("value"):
                raise SystemExit(f"no switch labelled {label!r} on {url}")
        time.sleep(2)
        height = int(js(JS_HEIGHT)["value"]) + 40
        call("Emulation.setDeviceMetricsOverride", width=width, height=height,
             deviceScaleFactor=1, mobile=False)
        time.sleep(3)
        shot = call("Page.captureScreenshot", format="png")
        with open(out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    finally:
        chrome.terminate()
        chrome.wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:])
