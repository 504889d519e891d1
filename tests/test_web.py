"""The browser page (web/): its JavaScript patch windows against musiczoo_runtime.patching, and the built page in Chromium.

The windowing runs in Node.js (the machine's `node`) on the same synthesized samples as
`patch_windows`, and must match it sample for sample. The page test serves the build of `make web`
(web/dist/) on localhost, loads the bundled clip through the file input in headless Debian Chromium,
and compares the page's tags with `zoo.tag` through the same waveform-in ONNX graph.
"""

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from web_page import WEB_DIST, chromium, page_requests, served, tag_in_page
from musiczoo_runtime.patching import patch_windows

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
    """web/dist (built by `make web`) served on 127.0.0.1; its address."""
    if not (WEB_DIST / "catalog.json").exists():
        pytest.fail("web/dist is not built: run `make web` (make test builds it first)")
    with served() as page:
        yield page


@pytest.fixture
def browser(tmp_path, monkeypatch):
    """Headless Debian Chromium with a NetLog in `tmp_path`; quit at the end unless the test quit it."""
    monkeypatch.setenv("SE_OFFLINE", "true")
    try:
        driver = chromium(tmp_path)
    except FileNotFoundError as error:
        pytest.fail(str(error))
    yield driver
    if driver.service.is_connectable():
        driver.quit()


@pytest.mark.slow
def test_the_page_tags_the_bundled_clip_as_the_command_line_does(tmp_path, served_page, browser, report):
    import zoo

    clip = Path(__file__).resolve().parent.parent / "examples" / "traveling_minstrels.ogg"
    catalog = json.loads((WEB_DIST / "catalog.json").read_text())
    picked = catalog["models"][0]
    assert (picked["model"], picked["weights"]) == ("timbral_temporal", "mtt")  # the CLI's default, listed first
    record = tag_in_page(browser, served_page, clip, model=0)
    options = browser.execute_script("return Array.from(document.querySelectorAll('#model option'), o => o.text)")
    assert options == [f"{m['model']} ({m['weights']})" for m in catalog["models"]]

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

    pixels = browser.execute_script("""
        const c = document.getElementById('taggram');
        const d = c.getContext('2d').getImageData(120, 10, c.width - 190, c.height - 40).data;
        const colours = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) colours.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
        return colours.size;""")
    assert pixels > 10, f"the taggram shows {pixels} colours"

    browser.execute_script("document.getElementById('player').currentTime = 10.5;")  # the cursor follows a seek
    time.sleep(1.0)
    cursor = browser.execute_script("""
        const c = document.getElementById('cursor');
        const row = c.getContext('2d').getImageData(0, c.height / 2, c.width, 1).data;
        const red = [];
        for (let x = 0; x < c.width; x++) if (row[4 * x + 3] > 0) red.push(x);
        return red;""")
    plot_left, plot_width, seconds = 120, 960 - 120 - 70, 21.0  # 7 patches of 3 s on a 960-pixel canvas
    assert cursor and abs(np.mean(cursor) - (plot_left + 10.5 / seconds * plot_width)) < 3, cursor

    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    browser.set_window_size(1100, browser.execute_script("return document.body.scrollHeight") + 120)
    browser.save_screenshot(str(tmp_path / "web.png"))
    report(f"screenshot: {tmp_path / 'web.png'}")

    browser.quit()  # completes the NetLog
    urls = page_requests(tmp_path / "netlog.json", served_page.rstrip("/"))
    served_files = {served_page + "graphs/timbral_temporal.mtt.onnx", served_page + "ort/ort-wasm-simd-threaded.wasm"}
    assert served_files <= set(urls), urls  # the worker's requests are in the NetLog too
    outside = sorted({url for url in urls if not url.startswith((served_page, "blob:", "data:"))})
    assert not outside, f"requests off localhost: {outside}"
