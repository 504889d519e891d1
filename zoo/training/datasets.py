"""Labeled audio collections in their usual layouts -> a list of (path, [labels]).

Accepted layouts (`LAYOUTS`):

- ``gtzan``: ``genres/<genre>/*.au|*.wav`` (also ``genres_original/``, as on Kaggle);
- ``ballroom``: ``BallroomData/<Style>/*.wav`` (non-audio files such as ``allBallroomFiles`` are ignored);
- ``irmas``: IRMAS training data, ``<instrument>/*.wav`` with the IRMAS instrument codes as folder names
  (file names such as ``[cel][cla]0001__1.wav`` carry the instrument and genre; the folder is the label);
- ``folders``: any folder with one sub-folder of audio files per class (searched recursively);
- ``csv``: a CSV file of ``path,label[,label...]`` rows, paths relative to the CSV's folder; a first
  row starting with ``path`` or ``file`` is a header; a file's labels are on its one row (a file on
  two rows, or a row without a path, is refused naming the line).

Hidden entries (``.name``) and ``__MACOSX`` are ignored everywhere. Only files with an audio
extension (`musiczoo_runtime.audio.EXTENSIONS`) are listed; whether they decode is checked when they are read.
"""

import csv
import io
from pathlib import Path
from typing import NamedTuple

import numpy as np

from musiczoo_runtime import checks
from musiczoo_runtime.choices import DATASET_LAYOUTS as LAYOUTS
from musiczoo_runtime.errors import ZooError
from musiczoo_runtime.audio import EXTENSIONS

GTZAN_FOLDERS = ("genres", "genres_original")
BALLROOM_FOLDER = "BallroomData"
IRMAS_INSTRUMENTS = ("cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi")
IRMAS_FOLDER = "IRMAS-TrainingData"
ACCEPTED = (
    "GTZAN (genres/<genre>/*.wav|*.au or genres_original/), Ballroom (BallroomData/<Style>/*.wav), "
    "IRMAS training data (<instrument code>/*.wav with codes " + " ".join(IRMAS_INSTRUMENTS) + "), "
    "one sub-folder of audio files per class (<class>/<files>), or a CSV file of path,label[,label...] rows"
)


class Dataset(NamedTuple):
    """A labeled collection.

    Attributes:
        items: list of (Path, [labels]) in a stable order.
        labels: sorted list of every label.
        layout: the layout it was read as (one of `LAYOUTS`).
    """

    items: list
    labels: list
    layout: str


def _visible(name):
    return not name.startswith(".") and name != "__MACOSX"


def _subfolders(folder):
    return sorted(p for p in folder.iterdir() if p.is_dir() and _visible(p.name))


def _audio_files(folder, extensions=EXTENSIONS):
    """Audio files under `folder` (recursively), sorted."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in extensions and all(map(_visible, p.relative_to(folder).parts))
    )


def _dataset(items, layout):
    labels = sorted({label for _, item_labels in items for label in item_labels})
    return Dataset(items, labels, layout)


def _per_class(root, layout, extensions=EXTENSIONS):
    """One class per sub-folder of `root`; every class must hold at least one audio file."""
    classes = _subfolders(root)
    if not classes:
        raise ZooError(f"{root}: no class folders found. Accepted layouts: {ACCEPTED}")
    items = []
    for folder in classes:
        files = _audio_files(folder, extensions)
        if not files:
            raise ZooError(
                f"{folder}: class {folder.name!r} has no audio files "
                f"(looked for {', '.join(extensions)}); add files or remove the folder"
            )
        items.extend((path, [folder.name]) for path in files)
    return _dataset(items, layout)


def _named_root(root, names):
    """`root` itself if its name is one of `names`, else its first sub-folder with such a name, else None."""
    if root.name in names:
        return root
    for name in names:
        if (root / name).is_dir():
            return root / name
    return None


def gtzan(root):
    """GTZAN genres: `root` is the genres folder or holds `genres/` or `genres_original/` (also under `Data/`)."""
    root = Path(root)
    genres = _named_root(root, GTZAN_FOLDERS) or _named_root(root / "Data", GTZAN_FOLDERS)
    if genres is None:
        raise ZooError(f"{root}: no genres/ or genres_original/ folder, so not GTZAN. Accepted layouts: {ACCEPTED}")
    return _per_class(genres, "gtzan", extensions=(".wav", ".au"))


def ballroom(root):
    """Ballroom: `root` is `BallroomData/` or holds it; one folder of `.wav` files per dance style."""
    root = Path(root)
    styles = _named_root(root, (BALLROOM_FOLDER,))
    if styles is None:
        raise ZooError(f"{root}: no {BALLROOM_FOLDER}/ folder, so not Ballroom. Accepted layouts: {ACCEPTED}")
    return _per_class(styles, "ballroom", extensions=(".wav",))


def irmas(root):
    """IRMAS training data: one folder per instrument code (`root` may also hold `IRMAS-TrainingData/`)."""
    root = Path(root)
    root = _named_root(root, (IRMAS_FOLDER,)) or root
    unknown = [p.name for p in _subfolders(root) if p.name not in IRMAS_INSTRUMENTS]
    if unknown:
        raise ZooError(
            f"{root}: folders {', '.join(unknown)} are not IRMAS instrument codes "
            f"({' '.join(IRMAS_INSTRUMENTS)})"
        )
    return _per_class(root, "irmas", extensions=(".wav",))


def folders(root):
    """Generic layout: each sub-folder of `root` is a class holding its audio files (searched recursively)."""
    return _per_class(Path(root), "folders")


def _utf8_text(path):
    """The text of the CSV file `path` (UTF-8, with or without a byte-order mark) as a file object.

    Raises:
        ZooError: the file is not UTF-8 text.
    """
    try:
        return io.StringIO(Path(path).read_bytes().decode("utf-8-sig"), newline="")
    except UnicodeDecodeError as error:
        raise ZooError(f"{path} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start}): "
                       "save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 old.csv > new.csv`") from None


def csv_file(path):
    """Rows of `path,label[,label...]`; relative paths resolve against the CSV's folder.

    Raises:
        ZooError: no rows, a row without a path or without a label, a file on two rows (its labels
            belong on one row), or files that do not exist.
    """
    path = Path(path)
    labels_of, line_of, missing = {}, {}, []
    with _utf8_text(path) as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            cells = [cell.strip() for cell in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if number == 1 and cells[0].lower() in ("path", "file", "filename"):
                continue
            if not cells[0]:
                raise ZooError(f"{path} line {number}: the path (first cell) is empty in {','.join(row)!r} "
                               "(rows are path,label[,label...])")
            labels = [cell for cell in cells[1:] if cell]
            if not labels:
                raise ZooError(f"{path} line {number}: {cells[0]!r} has no label (rows are path,label[,label...])")
            audio = Path(cells[0]) if Path(cells[0]).is_absolute() else path.parent / cells[0]
            if not audio.is_file():
                missing.append(f"line {number}: {cells[0]}")
                continue
            key = audio.resolve()
            if key in line_of:
                raise ZooError(f"{path} line {number}: {cells[0]!r} is already labelled on line {line_of[key]}: "
                               "give all of a file's labels on one row (path,label1,label2)")
            line_of[key] = number
            labels_of[audio] = list(dict.fromkeys(labels))
    if missing:
        shown = "; ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ZooError(f"{path}: {len(missing)} listed file(s) do not exist ({shown}); "
                       f"relative paths are resolved against {path.parent}")
    if not labels_of:
        raise ZooError(f"{path}: no rows of path,label[,label...]")
    return _dataset(list(labels_of.items()), "csv")


LOADERS = {"gtzan": gtzan, "ballroom": ballroom, "irmas": irmas, "folders": folders, "csv": csv_file}


def detect(path):
    """The layout of `path` (one of `LAYOUTS`).

    Raises:
        ZooError: `path` is missing or matches no layout; the message lists the accepted ones.
    """
    path = Path(path)
    if not path.exists():
        raise ZooError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return "csv"
        raise ZooError(f"{path}: a dataset is a folder or a .csv file. Accepted layouts: {ACCEPTED}")
    if _named_root(path, GTZAN_FOLDERS) or _named_root(path / "Data", GTZAN_FOLDERS):
        return "gtzan"
    if _named_root(path, (BALLROOM_FOLDER,)):
        return "ballroom"
    instruments = _subfolders(_named_root(path, (IRMAS_FOLDER,)) or path)
    if instruments and all(p.name in IRMAS_INSTRUMENTS for p in instruments):
        return "irmas"
    if _subfolders(path):
        return "folders"
    loose = "; it holds audio files but no class folders" if _audio_files(path) else ""
    raise ZooError(f"{path} matches no dataset layout{loose}. Accepted layouts: {ACCEPTED}")


def read_dataset(data, layout="auto"):
    """Reads a labeled collection.

    Args:
        data: folder or CSV file.
        layout: one of `LAYOUTS`, or "auto" to detect it.

    Returns:
        Dataset(items=[(Path, [labels])], labels, layout).

    Raises:
        ZooError: unknown layout, no match, a class without files, or missing CSV entries.
    """
    if layout == "auto":
        layout = detect(data)
    elif layout not in LOADERS:
        raise ZooError(f"layout must be 'auto' or one of {', '.join(LAYOUTS)}, not {layout!r}")
    elif not Path(data).exists():
        raise ZooError(f"{data}: no such file or folder")
    return LOADERS[layout](Path(data))


def split_files(file_labels, validation_split=0.2, seed=0):
    """Splits files (not patches) into training and validation, stratified by label.

    Each file is stratified by its rarest label; within a stratum the validation share is
    rounded, at least one file when the stratum has two or more and never all of them.

    Args:
        file_labels: list of label lists, one per file.
        validation_split: share of files for validation, in [0, 1).
        seed: the split depends only on it and on `file_labels`.

    Returns:
        (training file indices, validation file indices), sorted int arrays.
    """
    checks.share(validation_split, "validation_split")
    counts = {}
    for labels in file_labels:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    strata = {}
    for index, labels in enumerate(file_labels):
        strata.setdefault(min(labels, key=lambda label: (counts[label], label)), []).append(index)
    rng = np.random.default_rng(seed)
    validation = []
    for key in sorted(strata):
        files = rng.permutation(strata[key])
        share = int(round(len(files) * validation_split))
        if validation_split > 0 and len(files) > 1:
            share = min(max(share, 1), len(files) - 1)
        if len(files) > 1:
            validation.extend(files[:share])
    validation = np.sort(np.asarray(validation, dtype=int))
    return np.setdiff1d(np.arange(len(file_labels)), validation), validation
