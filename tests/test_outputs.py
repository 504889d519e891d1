"""One home for each output rule: the report decodes its recording once, and the command line and the
report turn a tag into the same file-name part (`zoo.outputs.names.safe_name`)."""

import numpy as np
import pytest
import soundfile

import musiczoo_runtime.audio
from fixtures import synth
from zoo.cli import main
from zoo.explain import attribution
from zoo.explain.recording import Recording
from zoo.explain.report import report
from zoo.explain.report import sections
from zoo.outputs.names import safe_name

ODD_TAG = "drum/bass & café"


def test_a_report_decodes_its_recording_once(tmp_path, monkeypatch):
    song = tmp_path / "song.flac"
    soundfile.write(song, synth("chords", 4.0, sample_rate=44100), 44100)
    opened = []
    real_open_file = musiczoo_runtime.audio.open_file

    def counting_open_file(path):
        opened.append(path)
        return real_open_file(path)

    monkeypatch.setattr(musiczoo_runtime.audio, "open_file", counting_open_file)
    page = report(song, tmp_path / "report", model="timbral_temporal", weights="mtt", with_filters=False,
                  explain={"attribution_tags": 1, "method": "saliency", "branches": True, "auralised_units": 1})
    assert opened == [song]  # feature maps, taggram, listening copy, attribution, branches, auralisation
    written = {path.name for path in page.parent.iterdir()}
    assert {"index.html", "recording.ogg", "taggram.png", "activations.png", "branches.png"} <= written
    assert sum(name.startswith("attribution.") for name in written) == 2  # the map and its masked audio
    assert sum(name.startswith("auralised.") for name in written) == 1


def fake_attribute(audio, model, weights, tag, method, **_):
    """An Attribution of a 3 s patch of noise, made without a network."""
    rng = np.random.default_rng(0)
    return attribution.Attribution(
        logmel=rng.random((1, 187, 96), np.float32), maps=rng.standard_normal((1, 187, 96)).astype(np.float32),
        times=np.zeros(1), tag=tag, method=method, model=model, weights=weights, logits=np.zeros(1),
        starts=np.zeros(1, int), n_frames=188, waveform=0.1 * rng.standard_normal(48000).astype(np.float32))


def test_the_command_line_and_the_report_name_a_tag_alike(tmp_path, monkeypatch):
    monkeypatch.setattr(attribution, "attribute", fake_attribute)
    monkeypatch.setattr(sections, "attribute", fake_attribute)
    clip = tmp_path / "clip.wav"
    soundfile.write(clip, synth("chords", 3.0), 16000)
    assert main(["explain", "attribute", str(clip), "--tag", ODD_TAG, "--method", "saliency", "--quiet",
                 "--out", str(tmp_path / "cli")]) == 0
    recording = Recording("clip.wav", np.zeros(48000, np.float32), np.zeros((1, 187, 96), np.float32),
                          np.zeros(1, int), 188)
    sections.attribution_section(recording, "clip.wav", tmp_path / "report", "timbral_temporal", "mtt", [ODD_TAG],
                                 "saliency")
    from_cli = {path.name.split(".")[1] for path in (tmp_path / "cli").glob("*.png")}
    from_report = {path.name.split(".")[1] for path in (tmp_path / "report").glob("*.png")}
    assert from_cli == from_report == {safe_name(ODD_TAG)} == {"drum_bass___café"}


@pytest.mark.parametrize("name, safe", [("female vocal", "female_vocal"), ("rock'n'roll", "rock_n_roll"),
                                        ("hip-hop", "hip-hop"), ("80s", "80s"), ("a.b/c\\d", "a_b_c_d"),
                                        ("Ölçü", "Ölçü")])
def test_safe_name_keeps_letters_digits_dash_and_underscore(name, safe):
    assert safe_name(name) == safe
