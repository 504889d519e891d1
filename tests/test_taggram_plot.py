"""The taggram picture: top tags in clip-probability order under the log-mel, the clip's own colour range."""

import pytest
from PIL import Image

from fixtures import synth
from zoo.cli import main
from zoo.inference.api import tag
from zoo.inference.plots import plot_taggram, recording_logmel


def test_bundled_clip_rows_follow_clip_probability(example_path, tmp_path):
    taggram = tag(example_path)
    rows = plot_taggram(taggram, tmp_path / "t.png", recording_logmel(example_path), title=str(example_path))
    assert rows[:3] == [name for name, _ in taggram.top(3)]
    assert len(rows) == 10
    clip = dict(zip(taggram.tags, taggram.clip_probabilities))
    assert all(clip[a] >= clip[b] for a, b in zip(rows, rows[1:]))
    assert Image.open(tmp_path / "t.png").size[0] > 800


def test_every_tag_and_a_short_clip(tmp_path):
    taggram = tag(synth("chords", 1.0), sample_rate=16000)
    logmel = recording_logmel(synth("chords", 1.0), sample_rate=16000)
    assert len(logmel) == 1 + 16000 // 256
    rows = plot_taggram(taggram, tmp_path / "all.png", logmel, n_tags="all")
    assert sorted(rows) == sorted(taggram.tags)


def test_plot_tags_option(tmp_path, write_audio, capsys):
    path = write_audio("song.wav", synth("chords", 4.0), 16000)
    assert main(["tag", str(path), "--plot", str(tmp_path / "p"), "--plot-tags", "3"]) == 0
    assert (tmp_path / "p" / "song.png").stat().st_size > 1000
    capsys.readouterr()
    for bad in ("0", "some"):
        with pytest.raises(SystemExit) as exit:
            main(["tag", str(path), "--plot", str(tmp_path / "p"), "--plot-tags", bad])
        assert exit.value.code == 2
        assert "--plot-tags" in capsys.readouterr().err
