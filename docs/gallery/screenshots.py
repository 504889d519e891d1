"""Screenshots of `musiczoo explain report` for the docs: a synthesized song-like clip and the bundled clip.

Writes each report into OUT (default /tmp/musiczoo-gallery), opens it in Debian's headless
Chromium (as tests/test_explain_report.py does) and saves a small PNG of the page here.

    .venv/bin/python docs/gallery/screenshots.py [OUT] [--song-only] [--no-filters]
"""

import sys
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fixtures import synth  # noqa: E402
from zoo.explain.report import report  # noqa: E402
from zoo.progress import Progress  # noqa: E402

WIDTH = 1400  # browser window; the saved picture is halved


def song_like(path, seconds=6.0):
    """Chords over a click track, 16 kHz, written to `path`."""
    mix = 0.6 * synth("chords", seconds) + 0.4 * synth("clicks", seconds)
    soundfile.write(path, mix.astype(np.float32), 16000)
    return path


def screenshot(page, picture):
    """Opens `page` in headless Chromium and saves the whole page, halved, as a palette PNG."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", f"--window-size={WIDTH},1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(page.as_uri())
        driver.set_window_size(WIDTH, driver.execute_script("return document.body.scrollHeight") + 50)
        full = picture.with_suffix(".full.png")
        driver.save_screenshot(str(full))
    finally:
        driver.quit()
    image = Image.open(full)
    image = image.resize((image.width // 2, image.height // 2), Image.LANCZOS)
    image.convert("P", palette=Image.ADAPTIVE, colors=128).save(picture, optimize=True)
    full.unlink()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0] if args else "/tmp/musiczoo-gallery")
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress()
    clips = [("song_like", song_like(out / "song_like.wav"))]
    if "--song-only" not in sys.argv:
        clips.append(("traveling_minstrels", ROOT / "examples" / "traveling_minstrels.ogg"))
    for name, audio in clips:
        page = report(audio, out / name, with_filters="--no-filters" not in sys.argv, progress=progress)
        screenshot(page, HERE / f"report_{name}.png")
        print(HERE / f"report_{name}.png", flush=True)


if __name__ == "__main__":
    main()
