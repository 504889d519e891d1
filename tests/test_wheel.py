"""The wheel carries the weights: built from this repository and installed into a bare folder, it tags from anywhere.

The wheel is built from a copy of the working tree (without .git, .venv, build/ and egg-info folders), so
that setuptools' in-tree build folder neither lands in the repository nor leaks stale modules into the wheel.
It is built without build isolation, offline, with the setuptools and wheel of the test's own environment.
"""

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "examples" / "traveling_minstrels.ogg"
PACKAGE_DATA = "zoo/pretrained"
TOP_LEVEL_SKIPPED = {".git", ".venv", "build", "dist", "export", ".pytest_cache"}

# Runs in a subprocess from an empty folder, with only the installed wheel on PYTHONPATH.
INSTALLED_CHECK = """
import json, sys
from pathlib import Path

import zoo
from zoo.models import weights

site, clip, root = (Path(arg).resolve() for arg in sys.argv[1:4])
package = Path(zoo.__file__).resolve()
assert site in package.parents, f"zoo imported from {package}, not from {site}"
import musiczoo_runtime
ground_floor = Path(musiczoo_runtime.__file__).resolve()
assert site in ground_floor.parents, f"musiczoo_runtime imported from {ground_floor}, not from {site}"
assert root not in package.parents, f"zoo imported from the repository: {package}"
folder = weights.weights_dir().resolve()
assert site in folder.parents, f"weights_dir() is {folder}, not inside {site}"
network = zoo.load("timbral", weights="msd")
taggram = zoo.tag(clip, model="timbral", weights="msd")
print(json.dumps({"zoo": str(package), "weights_dir": str(folder), "outputs": int(network.output.shape[-1]),
                  "top3": taggram.top(3)}))
"""


def _run(command, **options):
    """Runs a command; fails the test with its output unless it exits 0."""
    result = subprocess.run(command, capture_output=True, text=True, **options)
    assert result.returncode == 0, (f"{' '.join(map(str, command))} exited {result.returncode}\n"
                                    f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}")
    return result


def _ignored(folder, names):
    """What the source copy leaves out: build products everywhere, local environments at the top."""
    skipped = {name for name in names if name == "__pycache__" or name.endswith(".egg-info")}
    if Path(folder).resolve() == ROOT:
        skipped |= (TOP_LEVEL_SKIPPED & set(names)) | {name for name in names if name.startswith(".venv")}
    return skipped


def _installed_env(site):
    """The environment of a process that sees only the installed wheel (and the venv's dependencies)."""
    env = {key: value for key, value in os.environ.items() if key not in ("MUSICZOO_WEIGHTS_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    for module in ("setuptools", "wheel"):
        assert importlib.util.find_spec(module), f"{module} is missing from {sys.prefix}: the offline wheel build needs it"
    source = tmp_path_factory.mktemp("source") / "musiczoo"
    shutil.copytree(ROOT, source, ignore=_ignored, symlinks=True)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(out)])
    (built,) = out.glob("musiczoo-*.whl")
    return built


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory):
    target = tmp_path_factory.mktemp("installed") / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)])
    return target


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory):
    """An empty working directory outside the repository."""
    folder = tmp_path_factory.mktemp("elsewhere")
    assert ROOT not in folder.resolve().parents and not any(folder.iterdir())
    return folder


def test_the_wheel_holds_the_manifest_and_every_weight_file_it_lists(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert f"{PACKAGE_DATA}/manifest.json" in names
        raw = archive.read(f"{PACKAGE_DATA}/manifest.json")
        assert raw == (ROOT / "weights" / "manifest.json").read_bytes()
        manifest = json.loads(raw)
        entries = [(name, tag, entry) for name, model in manifest["models"].items()
                   for tag, entry in model["weights"].items()]
        assert entries
        for name, tag, entry in entries:
            member = f"{PACKAGE_DATA}/{entry['file']}"
            assert member in names, f"{name} {tag}: {member} is not in the wheel"
            data = archive.read(member)
            assert len(data) == entry["size"], member
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], member
            assert f"{PACKAGE_DATA}/{entry['license']['file']}" in names, entry["license"]["file"]


def test_the_wheel_holds_only_weights_manifest_and_licences_under_pretrained(wheel):
    """No corpus or porting script ships: under zoo/pretrained only weight files, the manifest, the licences."""
    with zipfile.ZipFile(wheel) as archive:
        names = [name[len(PACKAGE_DATA) + 1:] for name in archive.namelist() if name.startswith(f"{PACKAGE_DATA}/")]
    allowed = [name for name in names if name in ("__init__.py", "manifest.json")
               or (name.endswith(".weights.h5") and "/" not in name) or name.startswith("LICENSES/")]
    assert sorted(names) == sorted(allowed), sorted(set(names) - set(allowed))
    assert not [name for name in names if name.endswith(".py") and name != "__init__.py"]
    assert any(name.startswith("LICENSES/") for name in names) and "manifest.json" in names


def test_the_wheel_holds_the_runtime_package_and_its_graphs(wheel):
    graphs = ROOT / "runtime" / "musiczoo_runtime" / "graphs"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for module in (ROOT / "runtime" / "musiczoo_runtime").glob("*.py"):
            assert f"musiczoo_runtime/{module.name}" in names, module.name
        index = json.loads(archive.read("musiczoo_runtime/graphs/index.json"))
        files = [entry for model in index.values() for entry in model["weights"].values()]
        assert len(files) == len(list(graphs.glob("*.onnx"))) == 12
        for entry in files:
            data = archive.read(f"musiczoo_runtime/graphs/{entry['file']}")
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]


@pytest.fixture(scope="module")
def in_process():
    """The test process's own zoo (the repository's): top-3 of timbral/msd and the default top-5."""
    import zoo

    return {"top3": zoo.tag(CLIP, model="timbral", weights="msd").top(3), "top5": zoo.tag(CLIP).top(5)}


def test_the_installed_wheel_tags_from_an_empty_folder_like_the_repository(site, elsewhere, in_process):
    result = _run([sys.executable, "-c", INSTALLED_CHECK, str(site), str(CLIP), str(ROOT)],
                  cwd=elsewhere, env=_installed_env(site))
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["outputs"] == 50
    installed = report["top3"]
    assert [tag for tag, _ in installed] == [tag for tag, _ in in_process["top3"]]
    for (tag, p), (_, q) in zip(installed, in_process["top3"]):
        assert abs(p - q) <= 1e-6, (tag, p, q)


def test_the_installed_command_prints_the_same_top_tags(site, elsewhere, in_process):
    result = _run([sys.executable, "-m", "zoo", "tag", str(CLIP), "--top", "5"], cwd=elsewhere,
                  env=_installed_env(site))
    lines = [line for line in result.stdout.splitlines() if "\t" in line]
    assert len(lines) == 1, result.stdout
    path, shown = lines[0].split("\t")
    assert path == str(CLIP)
    printed = [item.rsplit(" ", 1) for item in shown.split(", ")]
    assert [tag for tag, _ in printed] == [tag for tag, _ in in_process["top5"]]
    for (tag, text), (_, p) in zip(printed, in_process["top5"]):
        assert abs(float(text) - p) <= 0.005 + 1e-6, (tag, text, p)
