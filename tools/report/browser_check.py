#!/usr/bin/env python3
"""Checks a report page in a real headless browser (Debian's chromium),
through the DevTools protocol (python3-websocket):

  browser_check.py PAGE.html --screenshot OUT.png
  browser_check.py --self-test

The page must load; every image must have decoded (naturalWidth > 0); every
link must resolve (a file:// target exists, a #fragment names an element of
its page); no console error, uncaught exception or failed load. A full-page
screenshot is written. Exit 0 when clean, 1 with each problem printed, 2 when
the browser could not be driven. --self-test first proves the checks on
pages broken on purpose (a missing image, a dead link, a dead anchor, a
console error, an exception) and a clean page.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import websocket  # Debian: python3-websocket

LOAD_TIMEOUT = 30

COLLECT = r"""JSON.stringify({
  images: Array.from(document.images).map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0})),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  height: Math.max(document.body ? document.body.scrollHeight : 0, 600),
  title: document.title
})"""


class Browser:
    """One headless chromium with a page target; bounded waits throughout."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="dllmem-report-chromium-")
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if exe is None:
            raise RuntimeError("chromium is not installed")
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--remote-debugging-port=0", "--remote-allow-origins=*",
             "--user-data-dir=" + self.profile, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + LOAD_TIMEOUT
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        with open(port_file) as f:
            port = f.read().split()[0]
        pages = []
        while not pages:
            with urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port, timeout=10) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if not pages:
                if time.time() > deadline:
                    self.close()
                    raise RuntimeError("chromium opened no page")
                time.sleep(0.1)
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=LOAD_TIMEOUT,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        deadline = time.time() + LOAD_TIMEOUT
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise RuntimeError(method + ": no answer")

    def wait_event(self, name):
        deadline = time.time() + LOAD_TIMEOUT
        while time.time() < deadline:
            if any(e["method"] == name for e in self.events):
                return True
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
        return False

    def close(self):
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def problems_of(b, path, screenshot=None):
    """Loads path in b and returns (problems, facts)."""
    url = "file://" + urllib.parse.quote(os.path.abspath(path))
    b.events = []
    b.call("Page.navigate", url=url)
    if not b.wait_event("Page.loadEventFired"):
        return ["the page did not finish loading in %d s" % LOAD_TIMEOUT], {}
    time.sleep(0.3)  # late console messages
    facts = json.loads(b.call("Runtime.evaluate", expression=COLLECT,
                              returnByValue=True)["result"]["value"])
    probs = []
    for e in b.events:
        p = e.get("params", {})
        if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            probs.append("console error: " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif e["method"] == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            probs.append("uncaught exception: " + d.get("exception", {}).get(
                "description", d.get("text", "")).split("\n")[0])
        elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            probs.append("console error: %s %s" % (p["entry"].get("text", ""),
                                                   p["entry"].get("url", "")))
        elif e["method"] == "Network.loadingFailed":
            probs.append("failed load: %s" % p.get("errorText", ""))
    for img in facts["images"]:
        if not img["ok"]:
            probs.append("image not shown: " + img["src"])
    here = urllib.parse.urlsplit(url).path
    for href in facts["links"]:
        u = urllib.parse.urlsplit(href)
        if u.scheme != "file":
            probs.append("link outside the report, not checkable offline: " + href)
            continue
        target = urllib.parse.unquote(u.path)
        if not os.path.exists(target):
            probs.append("dead link: " + href)
        elif u.fragment and target == urllib.parse.unquote(here) and \
                u.fragment not in facts["ids"]:
            probs.append("dead anchor: " + href)
    if screenshot:
        b.call("Emulation.setDeviceMetricsOverride", width=1200,
               height=min(int(facts["height"]), 16000), deviceScaleFactor=1, mobile=False)
        shot = b.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    return sorted(set(probs)), facts


PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def self_test(b):
    """Each check against a page broken on purpose; True when all behave."""
    d = tempfile.mkdtemp(prefix="dllmem-report-selftest-")
    try:
        with open(os.path.join(d, "ok.png"), "wb") as f:
            f.write(PNG_1x1)
        with open(os.path.join(d, "other.html"), "w") as f:
            f.write("<!DOCTYPE html><title>o</title>")
        base = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head><body>'
                '<h2 id="a">x</h2><img src="ok.png" alt="ok"><a href="other.html">o</a>'
                '<a href="#a">a</a>%s</body></html>')
        cases = [("clean", "", None),
                 ("missing-image", '<img src="gone.png" alt="gone">', "image not shown"),
                 ("dead-link", '<a href="gone.html">g</a>', "dead link"),
                 ("dead-anchor", '<a href="#nowhere">n</a>', "dead anchor"),
                 ("console-error", "<script>console.error('planted')</script>", "console error"),
                 ("exception", "<script>undefinedFunction()</script>", "uncaught exception")]
        ok = True
        for name, extra, want in cases:
            page = os.path.join(d, name + ".html")
            with open(page, "w") as f:
                f.write(base % extra)
            probs, _ = problems_of(b, page)
            good = (not probs) if want is None else any(p.startswith(want) for p in probs)
            print("browser_check self-test: %-14s %s (%s)" % (
                name, "ok" if good else "WRONG", "; ".join(probs) or "no problem"))
            ok = ok and good
        return ok
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("page", nargs="?")
    ap.add_argument("--screenshot")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args(argv)
    if not args.page and not args.self_test:
        ap.error("a page or --self-test")
    try:
        b = Browser()
    except (RuntimeError, OSError) as e:
        print("browser_check: " + str(e), file=sys.stderr)
        return 2
    try:
        if args.self_test and not self_test(b):
            print("browser_check: the self-test failed: a check cannot be trusted")
            return 1
        if not args.page:
            return 0
        probs, facts = problems_of(b, args.page, args.screenshot)
    except (RuntimeError, OSError, websocket.WebSocketException, ValueError, KeyError) as e:
        print("browser_check: " + str(e), file=sys.stderr)
        return 2
    finally:
        b.close()
    for p in probs:
        print("browser_check: " + p)
    print("browser_check: %s: %d images, %d links, %d problem(s)%s" % (
        args.page, len(facts.get("images", [])), len(facts.get("links", [])), len(probs),
        "; screenshot " + args.screenshot if args.screenshot else ""))
    if not probs and not facts.get("images"):
        print("browser_check: the page shows no image: nothing was checked")
        return 1
    return 1 if probs else 0


if __name__ == "__main__":
    sys.exit(main())
