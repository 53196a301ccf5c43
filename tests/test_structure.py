"""The shape of the code (issue #13): arrows point down, no cycles, TensorFlow only where a model runs."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bgmaker", "bgmaker_configs")


def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports():
    """{module: {bgmaker modules it imports, at any depth of the file}}."""
    modules = {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    found.add(target)
        graph[name] = found
    return graph


def test_library_code_never_imports_the_command_line():
    # the library's own `python -m` entry points (bgmaker.training, bgmaker.data, bgmaker.experiments) included
    offenders = {m: sorted(t for t in targets if t == "bgmaker.cli" or t.startswith("bgmaker.cli."))
                 for m, targets in imports().items() if not m.startswith("bgmaker.cli")}
    assert not {m: t for m, t in offenders.items() if t}


def code_strings(tree, help_texts=True):
    """The string constants of a module's code: not its docstrings, and without `help_texts` not the
    `help=` texts of its arguments either (prose for a reader, like a docstring)."""
    prose = {id(node.body[0].value) for node in ast.walk(tree)
             if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
             and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    if not help_texts:
        prose |= {id(c) for node in ast.walk(tree) if isinstance(node, ast.keyword) and node.arg == "help"
                  for c in ast.walk(node.value)}
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose]


def test_library_code_never_starts_the_command_line():
    """A child process the library starts is a library entry point (`python -m bgmaker.training`, `bgmaker.data`),
    never `python -m bgmaker.cli ...`: the command line is a leaf. Any string naming it counts, outside docstrings."""
    offenders = []
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            if path.is_relative_to(REPO / "bgmaker" / "cli"):
                continue
            for node in code_strings(ast.parse(path.read_text())):
                if (node.value == "bgmaker.cli" or node.value.startswith("bgmaker.cli.")
                        or "-m bgmaker.cli" in node.value):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert not offenders, offenders


RECORDS = REPO / "bgmaker" / "models" / "records.py"


def test_run_folders_have_one_owner():
    """Only bgmaker.models.records spells the run record's file name or joins Magenta's train/ onto a run
    folder (issue #27): the others ask it. Docstrings and help texts may name the file to a reader."""
    offenders = []
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            if path == RECORDS:
                continue
            tree = ast.parse(path.read_text())
            where = lambda node: f"{path.relative_to(REPO)}:{node.lineno}"  # noqa: E731
            offenders += [f"{where(node)}: {node.value!r}" for node in code_strings(tree, help_texts=False)
                          if "bgmaker_run.json" in node.value]
            for node in ast.walk(tree):
                joined = (node.right,) if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) else \
                    node.args if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("join", "joinpath") \
                    else ()
                if any(isinstance(part, ast.Constant) and part.value == "train" for part in joined):
                    offenders.append(f"{where(node)}: joins 'train' onto a folder")
    assert not offenders, offenders


def test_no_import_cycles():
    graph = imports()
    # a package's __init__ importing its own submodules is not a cycle between concepts
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def test_folders_show_the_data_flow():
    for folder in ("data", "training", "models", "generation", "render", "evaluation", "metrics", "cli"):
        assert (REPO / "bgmaker" / folder / "__init__.py").is_file(), folder
    assert not [p.name for p in (REPO / "bgmaker").glob("*_cli.py")], "commands live in bgmaker/cli/"
    page = (REPO / "docs" / "architecture.md").read_text()
    layout = page.split("## Layout", 1)[1].split("\n## ", 1)[0]
    for path in sorted((REPO / "bgmaker").glob("*/")):
        if path.is_dir() and (path / "__init__.py").is_file():
            assert f"{path.name}/" in layout, f"docs/architecture.md's Layout misses bgmaker/{path.name}/"


def tf_loaded_after(code):
    """Run `code` in a fresh interpreter; True if it imported TensorFlow."""
    proc = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('tensorflow' in sys.modules)"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    return proc.stdout.strip().splitlines()[-1] == "True", proc


@pytest.mark.parametrize("argv", [
    ["runs"], ["--help"], ["generate", "sample", "--help"], ["generate", "sample", "--run", "v9_polka"],
    ["generate", "sample", "--temperature", "nan"], ["train", "--run", "v2_rock_beat", "--recipe", "nope"],
    ["evaluate", "--run", "v9_polka"],
])
def test_commands_that_run_no_model_import_no_tensorflow(argv):
    loaded, proc = tf_loaded_after(
        f"from bgmaker.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass")
    assert not loaded, proc.stdout + proc.stderr


def test_render_imports_no_tensorflow(synthetic_midi_dir, tmp_path):
    midi = sorted(synthetic_midi_dir.glob("*.mid"))[0]
    loaded, proc = tf_loaded_after(
        "from bgmaker.cli import main\n"
        f"assert main(['generate', 'render', {str(midi)!r}, '-o', {str(tmp_path)!r}, '--no-audio']) == 0")
    assert not loaded and proc.returncode == 0, proc.stderr[-2000:]


def test_grid_constants_have_one_home():
    """STEPS_PER_QUARTER, the default tempo and the tempo range are defined once (bgmaker.drums), imported elsewhere."""
    definitions = []
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.Assign):
                    names = {t.id for t in node.targets if isinstance(t, ast.Name)}
                    for constant in names & {"STEPS_PER_QUARTER", "DEFAULT_BPM", "STEPS_PER_BAR", "MIN_BPM", "MAX_BPM"}:
                        definitions.append((constant, str(path.relative_to(REPO))))
    assert sorted(definitions) == [("DEFAULT_BPM", "bgmaker/drums.py"), ("MAX_BPM", "bgmaker/drums.py"),
                                   ("MIN_BPM", "bgmaker/drums.py"), ("STEPS_PER_BAR", "bgmaker/drums.py"),
                                   ("STEPS_PER_QUARTER", "bgmaker/drums.py")]


# Importing patches nothing (issue #27): the Magenta modules refuse to load before the explicit
# compat.apply(), every other module loads and leaves Magenta, numpy and TensorFlow's Keras choice alone.
MAGENTA_MODULES = ["bgmaker.generation.seeded_sampling", "bgmaker_configs.architectures"]
IMPORT_EVERY_MODULE = """
import importlib, json, os, pkgutil, sys
import bgmaker, bgmaker_configs
from bgmaker import compat

def every_module():
    for pkg in (bgmaker, bgmaker_configs):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if not info.name.endswith("__main__"):
                yield info.name

refused = []
for name in every_module():
    try:
        importlib.import_module(name)
    except compat.ShimsNotApplied:
        refused.append(name)
found = dict(refused=refused, applied=compat.applied(), patched=compat.patched(),
             keras=os.environ.get("TF_USE_LEGACY_KERAS"))
compat.apply()
for name in refused:
    importlib.import_module(name)
found.update(after_apply=compat.patched())
print(json.dumps(found))
"""


def test_importing_every_module_patches_nothing():
    import json
    import os
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_USE_LEGACY_KERAS", None)
    proc = subprocess.run([sys.executable, "-c", IMPORT_EVERY_MODULE], capture_output=True, text=True, cwd=REPO,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(found["refused"]) == MAGENTA_MODULES
    assert found["applied"] is False and found["patched"] == [] and found["keras"] is None
    # the check can see a patch: after the one explicit call, Magenta's functions are BGMaker's
    assert "magenta.models.music_vae.data.convert_to_tensors_op" in found["after_apply"]
    assert "magenta.models.music_vae.lstm_models.BaseLstmDecoder.reconstruction_loss" in found["after_apply"]


def test_importing_the_command_line_imports_no_tensorflow():
    loaded, proc = tf_loaded_after(
        "import importlib, pkgutil\nimport bgmaker.cli\n"
        "for info in pkgutil.walk_packages(bgmaker.cli.__path__, 'bgmaker.cli.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)")
    assert not loaded and proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
