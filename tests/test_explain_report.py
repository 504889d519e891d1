"""The HTML report in a real browser: headless Chromium (Debian's package, installed by `make test`) via Selenium.

The page is opened from disk with the network off: every image must decode, every audio element must
load its metadata with a positive duration, and the console must stay free of errors. A screenshot of
each page is saved next to it (pytest's tmp folder, printed in the measurements section).
"""

import os
import shutil
import time

import pytest
import soundfile

from fixtures import synth
from zoo.explain import report as html_report
from zoo.explain.units import units

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--window-size=1400,1000")
STATE = """
const images = Array.from(document.images);
const audio = Array.from(document.querySelectorAll('audio'));
return {images: images.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]),
        audio: audio.map(a => [a.getAttribute('src'), a.readyState, a.duration, a.error ? a.error.code : null])};
"""


@pytest.fixture
def browser(tmp_path, monkeypatch):
    """A headless Chromium driven by the system chromedriver; Selenium may download nothing."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("chromium and chromedriver are missing: `make test` installs them "
                    "(apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def check_page(driver, page, screenshot, timeout=60.0):
    """Opens `page`, waits for every image and audio element, and returns the final state."""
    driver.get(page.as_uri())
    deadline = time.monotonic() + timeout
    while True:
        state = driver.execute_script(STATE)
        ready = all(complete for _, complete, _ in state["images"]) and all(
            ready >= 1 or error is not None for _, ready, _, error in state["audio"])
        if ready or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    driver.set_window_size(1400, min(20000, driver.execute_script("return document.body.scrollHeight") + 50))
    driver.save_screenshot(str(screenshot))
    errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    broken = [src for src, complete, width in state["images"] if not complete or width <= 0]
    assert not broken, f"images that did not decode: {broken}"
    silent = [(src, ready, duration, error) for src, ready, duration, error in state["audio"]
              if ready < 1 or not duration > 0]
    assert not silent, f"audio without metadata: {silent}"
    return state


@pytest.mark.slow
def test_the_recording_report_opens_in_chromium(tmp_path, browser, report):
    song = tmp_path / "song.flac"
    soundfile.write(song, synth("chords", 4.0, sample_rate=44100), 44100)
    page = html_report(song, tmp_path / "report", model="timbral_temporal", weights="mtt")
    state = check_page(browser, page, tmp_path / "report" / "screenshot.png")
    report(f"screenshot: {tmp_path / 'report' / 'screenshot.png'}")
    durations = {src: duration for src, _, duration, _ in state["audio"]}
    assert len(durations) == 1 + 2 + 3 and all(abs(d - 4.0) < 0.1 for d in durations.values())
    assert sum(src.startswith("attribution.") and src.endswith(".integrated_gradients.ogg") for src in durations) == 2
    assert sum(src.startswith("auralised.timbral_") for src in durations) == 3
    sources = {src for src, _, _ in state["images"]}
    assert {"activations.png", "taggram.png", "branches.png", "filters/null.png",
            "filters/temporal_128_conv.png"} <= sources
    assert sum(src.startswith("attribution.") and src.endswith(".integrated_gradients.png") for src in sources) == 2
    html = page.read_text()
    assert html.count("How much of the tag's evidence the map accounts for: <b>") == 2
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert str(tmp_path) not in html and "song.flac" in html  # the file's name only, no absolute path
    assert "<details>" in html


@pytest.mark.slow
def test_the_units_report_opens_in_chromium(tmp_path, browser, report):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, kind in enumerate(("chords", "clicks", "sweep", "noise")):
        soundfile.write(folder / f"{kind}.wav", synth(kind, 4.0 + i, seed=i), 16000)
    _, failed = units(sorted(folder.glob("*.wav")), "crnn", "mtt", "gru1", tmp_path / "units", top=2)
    assert failed == []
    page = html_report(tmp_path / "units", tmp_path / "page")
    state = check_page(browser, page, tmp_path / "page" / "screenshot.png")
    report(f"screenshot: {tmp_path / 'page' / 'screenshot.png'}")
    assert len(state["audio"]) == 32 * 2 and all(0 < a[2] < 3.1 for a in state["audio"])  # Vorbis pads a little
    assert sum(src.endswith(".png") and "thumbnails/" in src for src, _, _ in state["images"]) == 64
    assert os.path.relpath(tmp_path / "units", tmp_path / "page") in page.read_text()
