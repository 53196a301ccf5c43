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
    # `python -m` entry points (__main__) are command-line modules themselves
    offenders = {m: sorted(t for t in targets if t == "bgmaker.cli" or t.startswith("bgmaker.cli."))
                 for m, targets in imports().items() if not m.startswith("bgmaker.cli") and not m.endswith("__main__")}
    assert not {m: t for m, t in offenders.items() if t}


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
    readme = (REPO / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    for path in sorted((REPO / "bgmaker").glob("*/")):
        if path.is_dir() and (path / "__init__.py").is_file():
            assert f"{path.name}/" in layout, f"README's Layout misses bgmaker/{path.name}/"


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
    """STEPS_PER_QUARTER and the default tempo are defined once (bgmaker.drums) and imported elsewhere."""
    definitions = []
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.Assign):
                    names = {t.id for t in node.targets if isinstance(t, ast.Name)}
                    for constant in names & {"STEPS_PER_QUARTER", "DEFAULT_BPM", "STEPS_PER_BAR"}:
                        definitions.append((constant, str(path.relative_to(REPO))))
    assert sorted(definitions) == [("DEFAULT_BPM", "bgmaker/drums.py"), ("STEPS_PER_BAR", "bgmaker/drums.py"),
                                   ("STEPS_PER_QUARTER", "bgmaker/drums.py")]
