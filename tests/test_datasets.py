"""Dataset loaders: the standard layouts, detection, CSV lists and clear errors."""

import pytest

from fixtures import synth
from zoo.training import datasets
from musiczoo_runtime.errors import ZooError

CLIP = synth("chords", 0.2)


def test_gtzan_au_and_wav(write_audio, tmp_path):
    write_audio("gtzan/genres/blues/blues.00000.au", CLIP, 22050, format="AU", subtype="PCM_16")
    write_audio("gtzan/genres/blues/blues.00001.au", CLIP, 22050, format="AU", subtype="PCM_16")
    write_audio("gtzan/genres/rock/rock.00000.wav", CLIP, 22050)
    (tmp_path / "gtzan/genres/rock/notes.txt").write_text("not audio")
    for root in (tmp_path / "gtzan", tmp_path / "gtzan/genres"):
        dataset = datasets.read_dataset(root)
        assert dataset.layout == "gtzan"
        assert dataset.labels == ["blues", "rock"]
        assert [(path.name, labels) for path, labels in dataset.items] == [
            ("blues.00000.au", ["blues"]), ("blues.00001.au", ["blues"]), ("rock.00000.wav", ["rock"])]


def test_gtzan_original_folder(write_audio, tmp_path):
    write_audio("kaggle/Data/genres_original/jazz/jazz.00000.wav", CLIP, 22050)
    write_audio("kaggle/Data/genres_original/pop/pop.00000.wav", CLIP, 22050)
    dataset = datasets.read_dataset(tmp_path / "kaggle")
    assert (dataset.layout, dataset.labels) == ("gtzan", ["jazz", "pop"])


def test_ballroom_ignores_non_audio(write_audio, tmp_path):
    write_audio("ballroom/BallroomData/ChaChaCha/Albums-Cafe_Paradiso-05.wav", CLIP, 44100)
    write_audio("ballroom/BallroomData/Samba/Albums-Fire-08.wav", CLIP, 44100)
    (tmp_path / "ballroom/BallroomData/allBallroomFiles").write_text("./ChaChaCha/Albums-Cafe_Paradiso-05.wav\n")
    (tmp_path / "ballroom/BallroomData/.DS_Store").write_text("")
    dataset = datasets.read_dataset(tmp_path / "ballroom")
    assert dataset.layout == "ballroom"
    assert dataset.labels == ["ChaChaCha", "Samba"]
    assert len(dataset.items) == 2


def test_irmas_training_layout(write_audio, tmp_path):
    write_audio("IRMAS-TrainingData/cel/008__[cel][nod][cla]0058__1.wav", CLIP, 44100)
    write_audio("IRMAS-TrainingData/voi/[voi][pop_roc]2371__2.wav", CLIP, 44100)
    write_audio("IRMAS-TrainingData/cla/[cla][jaz_blu]1640__3.wav", CLIP, 44100)
    dataset = datasets.read_dataset(tmp_path / "IRMAS-TrainingData")
    assert (dataset.layout, dataset.labels) == ("irmas", ["cel", "cla", "voi"])
    assert datasets.read_dataset(tmp_path).layout == "irmas"


def test_irmas_refuses_unknown_instrument_folders(write_audio, tmp_path):
    write_audio("data/cel/a.wav", CLIP, 16000)
    write_audio("data/banjo/b.wav", CLIP, 16000)
    assert datasets.detect(tmp_path / "data") == "folders"
    with pytest.raises(ZooError, match="banjo.*not IRMAS instrument codes"):
        datasets.read_dataset(tmp_path / "data", layout="irmas")


def test_generic_folders_recursive(write_audio, tmp_path):
    write_audio("data/calm/a.flac", CLIP, 16000)
    write_audio("data/calm/live/b.ogg", CLIP, 16000, subtype="VORBIS")
    write_audio("data/loud/c.wav", CLIP, 16000)
    dataset = datasets.read_dataset(tmp_path / "data")
    assert dataset.layout == "folders"
    assert [(path.relative_to(tmp_path / "data").as_posix(), labels) for path, labels in dataset.items] == [
        ("calm/a.flac", ["calm"]), ("calm/live/b.ogg", ["calm"]), ("loud/c.wav", ["loud"])]


def test_csv_relative_paths_header_and_multi_labels(write_audio, tmp_path):
    write_audio("audio/one.wav", CLIP, 16000)
    write_audio("audio/two.wav", CLIP, 16000)
    listing = tmp_path / "labels.csv"
    listing.write_text("path,label\naudio/one.wav,piano,calm,loud\n\n# a comment\n"
                       f"{tmp_path / 'audio/two.wav'},drums\n")  # a file on two rows is refused (issue 25, 19)
    dataset = datasets.read_dataset(listing)
    assert dataset.layout == "csv"
    assert dataset.labels == ["calm", "drums", "loud", "piano"]
    assert [(path.name, labels) for path, labels in dataset.items] == [
        ("one.wav", ["piano", "calm", "loud"]), ("two.wav", ["drums"])]


def test_csv_missing_file_is_an_error(write_audio, tmp_path):
    write_audio("one.wav", CLIP, 16000)
    listing = tmp_path / "labels.csv"
    listing.write_text("one.wav,a\nmissing.wav,b\n")
    with pytest.raises(ZooError, match=r"line 2: missing.wav.*relative paths are resolved against"):
        datasets.read_dataset(listing)


def test_csv_row_without_label(write_audio, tmp_path):
    write_audio("one.wav", CLIP, 16000)
    listing = tmp_path / "labels.csv"
    listing.write_text("one.wav\n")
    with pytest.raises(ZooError, match="line 1.*no label"):
        datasets.read_dataset(listing)


def test_no_layout_lists_the_accepted_ones(write_audio, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="matches no dataset layout.*GTZAN.*Ballroom.*IRMAS.*CSV"):
        datasets.read_dataset(tmp_path / "empty")
    write_audio("loose/a.wav", CLIP, 16000)
    with pytest.raises(ZooError, match="audio files but no class folders"):
        datasets.read_dataset(tmp_path / "loose")
    with pytest.raises(ZooError, match="no such file or folder"):
        datasets.read_dataset(tmp_path / "absent")
    with pytest.raises(ZooError, match="layout must be"):
        datasets.read_dataset(tmp_path / "loose", layout="mirex")


def test_class_without_files_is_named(write_audio, tmp_path):
    write_audio("data/a/x.wav", CLIP, 16000)
    (tmp_path / "data/b").mkdir()
    (tmp_path / "data/b/readme.txt").write_text("no audio here")
    with pytest.raises(ZooError, match="class 'b' has no audio files"):
        datasets.read_dataset(tmp_path / "data")
