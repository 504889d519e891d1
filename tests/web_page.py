"""Driving the built page (web/dist, `make web`) in headless Debian Chromium: for tests/test_web.py and
benchmarks/web_parity.py.

`served(folder)` serves it on 127.0.0.1; `chromium(profile)` starts the browser with every host but
localhost unresolvable and a NetLog of every request; `tag_in_page` loads a file through the page's
file input and returns the JSON record the page shows in #results.
"""

import contextlib
import functools
import http.server
import json
import shutil
import threading
import time
from pathlib import Path

from test_explain_report import CHROMEDRIVER, CHROMIUM, FLAGS

WEB_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """The standard static handler, without a log line per request."""

    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def served(folder=WEB_DIST):
    """Serves `folder` on 127.0.0.1 (a free port) in a thread; yields its address, "http://127.0.0.1:PORT/"."""
    if not (Path(folder) / "catalog.json").exists():
        raise FileNotFoundError(f"{folder} is not a built page: run `make web` (make test builds it first)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium(profile):
    """Headless Debian Chromium via its chromedriver (Selenium downloads nothing: set SE_OFFLINE=true).

    Host names other than localhost resolve to nothing, so a request for anything off this machine fails
    rather than waits; the NetLog `profile/netlog.json` (complete once the browser quits) still records it.
    """
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        raise FileNotFoundError("chromium and chromedriver are missing: `make test` installs them "
                                "(apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, "--disable-quic", "--disable-sync", f"--user-data-dir={Path(profile) / 'chromium'}",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                 f"--log-net-log={Path(profile) / 'netlog.json'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def tag_in_page(driver, page, path, model=0, timeout=120.0):
    """Opens `page`, picks catalog entry `model` (its index), loads `path` through #file; returns the #results record.

    Raises:
        AssertionError: no result within `timeout` seconds (with the page's status line).
    """
    driver.get(page)
    deadline = time.monotonic() + timeout
    while not driver.execute_script("return document.querySelectorAll('#model option').length"):
        assert time.monotonic() < deadline, driver.find_element("id", "status").text
        time.sleep(0.1)
    driver.execute_script("const s = document.getElementById('model'); s.value = arguments[0];"
                          "s.dispatchEvent(new Event('change'));", str(model))
    driver.find_element("id", "file").send_keys(str(Path(path).resolve()))
    while not driver.find_element("id", "results").text:
        assert time.monotonic() < deadline, driver.find_element("id", "status").text
        time.sleep(0.25)
    return json.loads(driver.find_element("id", "results").text)


def page_requests(netlog, origin):
    """URLs requested for pages of `origin` ("http://127.0.0.1:PORT"), their workers included.

    A request belongs to the page when its network isolation key's top site is the page's site or the
    page's origin initiated it; the browser's own background requests (other keys) are left out.
    """
    site = origin.rsplit(":", 1)[0]
    urls = []
    for event in json.loads(Path(netlog).read_text())["events"]:
        params = event.get("params", {})
        if "url" in params and (params.get("network_isolation_key", "").startswith(site + " ")
                                or params.get("initiator") == origin):
            urls.append(params["url"])
    return urls
