"""The package layout: TF-free entry points, short modules, no private names across modules, no import
cycles, and dependencies that point one way (the layers of zoo/layers.py, lowest first). Reads zoo/ with
`ast`; imports nothing outside the repository."""

import ast
import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from zoo.layers import ranks

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "zoo"
HEAVY = ("tensorflow", "keras", "kapre")
COMMANDS = ("list", "card", "tag", "extract", "features", "predict", "export", "finetune", "distill", "agreement",
            "explain", "beam")
MAX_LINES = 350

# Layers, lowest first (zoo/layers.py): a module may import modules of its own layer or a lower one only.
LAYERS = ranks()


def run_python(code):
    """Runs `code` in a fresh interpreter from the repository root; returns the completed process."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


LOADED_HEAVY = f"import json, sys; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"


# (a), (b): what the light entry points import

def test_import_contract_loads_no_tensorflow():
    done = run_python("import musiczoo_runtime.contract, musiczoo_runtime.errors, zoo\n"
                      f"musiczoo_runtime.contract.cache_dir()\n{LOADED_HEAVY}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_help_lists_every_command_without_loading_tensorflow():
    code = (
        "import contextlib, io, runpy, sys\n"
        "sys.argv = ['musiczoo', '--help']\n"
        "try:\n    runpy.run_module('zoo', run_name='__main__')\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "from zoo.cli import main\n"
        f"for command in {COMMANDS!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n            main([command, '--help'])\n"
        "        except SystemExit as e:\n            assert not e.code, (command, e.code)\n"
        f"{LOADED_HEAVY}\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    *help_lines, loaded = done.stdout.splitlines()
    assert json.loads(loaded) == []
    listed = set()
    for line in help_lines:  # "    tag    tag audio files ..." and "    extract (features)"
        if line.startswith("    ") and not line.startswith("     "):
            name, _, rest = line.strip().partition(" ")
            listed.add(name)
            if rest.startswith("("):
                listed.update(alias.strip() for alias in rest[1:rest.index(")")].split(","))
    assert set(COMMANDS) <= listed, set(COMMANDS) - listed


def test_version():
    done = subprocess.run([sys.executable, "-m", "zoo", "--version"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    version = run_python("import zoo; print(zoo.__version__)").stdout.strip()
    assert version and done.stdout.strip() == f"musiczoo {version}"


# (c): the layout, read with ast

def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def lazy_api(modules):
    """`from zoo import load` really imports `_API["load"]` (zoo/__init__.py imports its API on first use)."""
    for node in ast.walk(modules["zoo"][1]):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_API" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def owner(name, modules):
    """The zoo module that `name` (a dotted module path) is, or is inside."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


@lru_cache(maxsize=1)
def layout():
    """(modules: name -> (lines, tree), edges: name -> {imported zoo module: first line}, private uses)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        modules[module_name(path)] = (len(text.splitlines()), ast.parse(text, str(path)))
    api = lazy_api(modules)
    edges, private = {name: {} for name in modules}, []

    for name, (_, tree) in modules.items():
        package = name if modules_is_package(name) else name.rpartition(".")[0]
        aliases = {}  # local name -> zoo module it is bound to

        def add(target, line):
            if target and target != name:
                edges[name].setdefault(target, line)

        for node in ast.walk(tree):  # every import, at module level or inside functions
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "zoo":
                        add(owner(alias.name, modules), node.lineno)
                        if alias.asname:
                            aliases[alias.asname] = owner(alias.name, modules)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                if base.split(".")[0] != "zoo":
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in modules:
                        target = full
                    elif base == "zoo" and alias.name in api:
                        target = api[alias.name]
                    else:
                        target = owner(base, modules)
                    add(target, node.lineno)
                    if full in modules:
                        aliases[alias.asname or alias.name] = full
                    if alias.name.startswith("_") and not alias.name.startswith("__") and target != name:
                        private.append(f"{name}:{node.lineno} imports {alias.name} from {base}")
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                    "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
                    and str(node.args[0].value).startswith("zoo"):
                add(owner(node.args[0].value, modules), node.lineno)

        for node in ast.walk(tree):  # patching._helper: a private name of another module, used directly
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                    and node.attr.startswith("_") and not node.attr.startswith("__") \
                    and aliases[node.value.id] != name:
                private.append(f"{name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    return modules, edges, private


def modules_is_package(name):
    return (PACKAGE.parent / Path(*name.split(".")) / "__init__.py").exists()


def layer(name):
    while name and name not in LAYERS:
        name = name.rpartition(".")[0]
    return LAYERS.get(name)


def test_the_layout_reader_sees_imports_inside_functions():
    _, edges, _ = layout()
    assert "zoo.signal.logmel" in edges["zoo.signal.streaming"]
    assert "zoo.models.catalog" in edges["zoo.cli.catalog"]  # imported inside a function


def test_no_module_is_too_long():
    modules, _, _ = layout()
    long = {name: lines for name, (lines, _) in modules.items() if lines > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_private_name_crosses_modules():
    _, _, private = layout()
    assert not private, "\n".join(private)


def test_no_import_cycles():
    _, edges, _ = layout()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    assert not cycles, "import cycles among: " + "; ".join(", ".join(c) for c in cycles)


def test_every_module_belongs_to_a_layer():
    modules, _, _ = layout()
    assert not [name for name in modules if layer(name) is None], "add new top-level modules to LAYERS"


def test_every_package_of_zoo_has_its_own_layer():
    """A new package is placed in zoo/layers.py (and so in the layering sentence), not silently in `zoo`'s."""
    packages = {f"zoo.{folder.name}" for folder in PACKAGE.iterdir() if (folder / "__init__.py").is_file()}
    assert not packages - set(LAYERS), f"add {sorted(packages - set(LAYERS))} to zoo/layers.py"


def test_dependencies_point_one_way():
    _, edges, _ = layout()
    upward = [
        f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)}) at line {line}"
        for name, targets in sorted(edges.items()) for target, line in sorted(targets.items())
        if layer(target) is not None and layer(name) is not None and layer(target) > layer(name)
    ]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("low,high", [
    ("zoo.signal", ("zoo.models", "zoo.inference", "zoo.training", "zoo.deploy", "zoo.cli")),
    ("zoo.models", ("zoo.inference", "zoo.training", "zoo.deploy", "zoo.cli")),
    ("zoo.inference", ("zoo.training", "zoo.deploy", "zoo.cli")),
    ("zoo.training", ("zoo.cli",)),
    ("zoo.deploy", ("zoo.cli",)),
])
def test_named_layers_import_nothing_above_them(low, high):
    _, edges, _ = layout()
    bad = [f"{name} imports {target}" for name, targets in edges.items() if f"{name}.".startswith(f"{low}.")
           for target in targets if f"{target}.".startswith(tuple(f"{h}." for h in high))]
    assert not bad, "\n".join(bad)
