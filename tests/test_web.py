"""The browser page (web/): its JavaScript patch windows against zoo.signal.patching, and the built page in Chromium.

The windowing runs in Node.js (the machine's `node`) on the same synthesized samples as
`patch_windows`, and must match it sample for sample. The page test serves the build of `make web`
(web/dist/) on localhost, loads the bundled clip through the file input in headless Debian Chromium,
and compares the page's tags with `zoo.tag` through the same waveform-in ONNX graph.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from zoo.signal.patching import patch_windows

WEB = Path(__file__).resolve().parent.parent / "web"
WINDOWS_IN_NODE = """
import { readFileSync, writeFileSync } from "node:fs";
import { patchWindows } from "%s";
const [samplesPath, hop, outPath] = process.argv.slice(2);
const bytes = readFileSync(samplesPath);
const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
const { starts, windows } = patchWindows(samples, Number(hop));
const lengths = windows.map((w) => w.length);
const flat = new Float32Array(lengths.reduce((a, b) => a + b, 0));
let offset = 0;
for (const w of windows) { flat.set(w, offset); offset += w.length; }
writeFileSync(outPath, Buffer.from(flat.buffer));
console.log(JSON.stringify({ starts, lengths }));
"""


def node_windows(tmp_path, samples, hop_seconds):
    """patchWindows of web/src/windows.js run by Node.js: (starts, list of float32 windows)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the page's build (make web) needs Node.js 20 and npm")
    script = tmp_path / "windows.mjs"
    script.write_text(WINDOWS_IN_NODE % (WEB / "src" / "windows.js").as_uri())
    (tmp_path / "samples.f32").write_bytes(np.asarray(samples, dtype="<f4").tobytes())
    out = subprocess.run([node, str(script), str(tmp_path / "samples.f32"), repr(hop_seconds),
                          str(tmp_path / "windows.f32")], capture_output=True, text=True, check=True)
    shape = json.loads(out.stdout)
    flat = np.frombuffer((tmp_path / "windows.f32").read_bytes(), dtype="<f4")
    bounds = np.cumsum([0, *shape["lengths"]])
    return shape["starts"], [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


@pytest.mark.parametrize("samples, hop_seconds", [
    (2, 3.0), (3, 3.0), (300, 3.0), (1000, 3.0),  # shorter than the 256-sample padding: mirrored repeatedly
    (48000, 3.0), (47871, 3.0), (48128, 3.0),  # about one patch
    (48000 * 3 + 15000, 3.0), (48000 * 3 + 17000, 3.0),  # a tail under and over the 1 s rule
    (16000 * 20 + 123, 3.0), (16000 * 20 + 123, 1.5), (16000 * 7, 0.5), (16000 * 7, 5.0),
])
def test_the_pages_windows_equal_patch_windows(tmp_path, samples, hop_seconds):
    waveform = np.random.default_rng(samples).uniform(-1, 1, samples).astype(np.float32)
    starts, windows = patch_windows(waveform, hop_seconds)
    js_starts, js_windows = node_windows(tmp_path, waveform, hop_seconds)
    assert js_starts == starts
    assert [len(w) for w in js_windows] == [len(w) for w in windows]
    for js, py in zip(js_windows, windows):
        np.testing.assert_array_equal(js, py)


@pytest.fixture
def served_page():
    """web/dist (built by `make web`) served on 127.0.0.1 by http.server in a thread; yields its address."""
    import functools
    import http.server
    import threading

    if not (WEB / "dist" / "catalog.json").exists():
        pytest.fail("web/dist is not built: run `make web` (make test builds it first)")
    handler = functools.partial(QuietHandler, directory=str(WEB / "dist"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


class QuietHandler(__import__("http.server").server.SimpleHTTPRequestHandler):
    """The standard static handler, without a log line per request."""

    def log_message(self, format, *args):
        pass


@pytest.fixture
def chromium(tmp_path, monkeypatch):
    """Headless Debian Chromium (via its chromedriver) logging the console, and every request to a NetLog.

    Host names other than localhost resolve to nothing, so a request for anything off this machine fails
    rather than waits; the NetLog (`tmp_path/netlog.json`, complete once the browser quits) still records it.
    """
    from test_explain_report import CHROMEDRIVER, CHROMIUM, FLAGS
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("chromium and chromedriver are missing: `make test` installs them "
                    "(apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, "--disable-quic", "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                 f"--log-net-log={tmp_path / 'netlog.json'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    if driver.service.is_connectable():  # unless the test quit it to complete the NetLog
        driver.quit()


def page_requests(netlog, origin):
    """URLs of every request made for pages of `origin` (their network isolation key's top site), workers included.

    The browser's own background requests (other isolation keys) are left out: they are not the page's.
    """
    site = origin.rsplit(":", 1)[0]  # "http://127.0.0.1"
    urls = []
    for event in json.loads(Path(netlog).read_text())["events"]:
        params = event.get("params", {})
        if "url" in params and (params.get("network_isolation_key", "").startswith(site + " ")
                                or params.get("initiator") == origin):
            urls.append(params["url"])
    return urls


@pytest.mark.slow
def test_the_page_tags_the_bundled_clip_as_the_command_line_does(tmp_path, served_page, chromium, report):
    import time

    import zoo

    clip = Path(__file__).resolve().parent.parent / "examples" / "traveling_minstrels.ogg"
    chromium.get(served_page)
    catalog = json.loads((WEB / "dist" / "catalog.json").read_text())
    picked = catalog["models"][0]
    assert (picked["model"], picked["weights"]) == ("timbral_temporal", "mtt")  # the CLI's default, picked first
    options = chromium.execute_script("return Array.from(document.querySelectorAll('#model option'), o => o.text)")
    assert options == [f"{m['model']} ({m['weights']})" for m in catalog["models"]]
    chromium.find_element("id", "file").send_keys(str(clip))
    deadline = time.monotonic() + 90
    while not chromium.find_element("id", "results").text and time.monotonic() < deadline:
        time.sleep(0.5)
    line = chromium.find_element("id", "results").text
    assert line, chromium.find_element("id", "status").text
    record = json.loads(line)

    expected = zoo.tag(str(clip), model="timbral_temporal", weights="mtt")  # as `musiczoo tag` runs it
    assert record["file"] == clip.name and (record["model"], record["weights"]) == ("timbral_temporal", "mtt")
    assert record["duration"] == pytest.approx(expected.duration, abs=1e-3)
    assert list(record["tags"]) == list(expected.tags)
    page = np.array([record["tags"][tag] for tag in expected.tags])
    difference = float(np.abs(page - expected.clip_probabilities).max())
    report(f"page against zoo.tag on {clip.name}: largest clip-level difference {difference:.2e}")
    assert difference < 2e-2
    top3 = [tag for tag, _ in expected.top(3)]
    assert sorted(record["tags"], key=lambda tag: -record["tags"][tag])[:3] == top3

    pixels = chromium.execute_script("""
        const c = document.getElementById('taggram');
        const d = c.getContext('2d').getImageData(120, 10, c.width - 130, c.height - 40).data;
        const colours = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) colours.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
        return colours.size;""")
    assert pixels > 10, f"the taggram shows {pixels} colours"

    errors = [entry for entry in chromium.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    chromium.set_window_size(1100, chromium.execute_script("return document.body.scrollHeight") + 120)
    chromium.save_screenshot(str(tmp_path / "web.png"))
    report(f"screenshot: {tmp_path / 'web.png'}")

    chromium.quit()
    urls = page_requests(tmp_path / "netlog.json", served_page.rstrip("/"))
    assert {served_page + "graphs/timbral_temporal.mtt.onnx", served_page + "ort/ort-wasm-simd-threaded.wasm"} <= set(urls)
    outside = sorted({url for url in urls if not url.startswith((served_page, "blob:", "data:"))})
    assert not outside, f"requests off localhost: {outside}"
