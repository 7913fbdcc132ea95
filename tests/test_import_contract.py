"""Import-layers contract: no cycles between the package's parts, dependencies point one way.

Granularity ("units"): each subpackage or top-level module of ``fbnet`` (``fbnet.models``,
``fbnet.training``, ``fbnet.loading``, ``fbnet.cli``, ...), ``fbnet`` itself (its
``__init__``), and ``data_pipeline`` as one unit. Every import counts, wherever it is written:
module level, inside functions, under ``TYPE_CHECKING``, ``from fbnet import X`` (resolved to the
submodule ``fbnet.X``), relative imports, and string constants that name a module of the tree
(what ``importlib.import_module`` is given). A unit may import only units of strictly lower
layers (``LAYERS``, lowest first); units of one layer do not import each other. A new unit must
be placed in a layer here.

The checker is plain ``ast`` (no import-linter dependency); ``test_checker_reports_a_cycle`` runs
it on a package tree with a deliberate cycle, so a broken checker cannot pass silently.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fbnet", "data_pipeline")
WHOLE_UNITS = ("data_pipeline",)  # packages checked as one unit

# Lowest first. models <- training/pretrained <- loading <- export/interpolate/evaluate/bench.
LAYERS: list[tuple[str, ...]] = [
    ("fbnet",),  # the package docstring and __version__
    ("data_pipeline",),  # video/image IO (data_pipeline.media), TFRecords, tf.data
    ("fbnet.ops",),
    ("fbnet.layers", "fbnet.losses", "fbnet.metrics"),
    ("fbnet.models",),  # registry, models, constructor params and strict .keras loading
    ("fbnet.training",),  # run directories, checkpoints, the training loop
    ("fbnet.pretrained",),  # shipped models and their cards
    ("fbnet.loading",),  # load_model(None | NAME | FILE | RUN_DIR | EXPORT_DIR)
    ("fbnet.export", "fbnet.interpolate"),
    ("fbnet.evaluate",),  # uses interpolate's classical methods
    ("fbnet.bench",),
    ("fbnet.cli",),
    ("fbnet.__main__",),
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str, whole_units: tuple[str, ...] = WHOLE_UNITS) -> str:
    parts = module.split(".")
    if parts[0] in whole_units:
        return parts[0]
    return ".".join(parts[:2])


def _imported_names(node: ast.AST, module: str, is_package: bool, modules: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        # ``from fbnet import loading`` imports the submodule fbnet.loading.
        subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
        return subs or [target]
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules:
        return [node.value]  # importlib.import_module("fbnet.x"), command tables
    return []


def import_graph(
    root: Path, packages: tuple[str, ...] = PACKAGES, whole_units: tuple[str, ...] = WHOLE_UNITS
) -> dict[str, dict[str, list[str]]]:
    """``{unit: {imported unit: ["file:line", ...]}}`` over every module of ``packages``."""
    files = [f for package in packages for f in sorted((root / package).rglob("*.py"))]
    modules = {module_name(f, root) for f in files}
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in files:
        module = module_name(path, root)
        source = unit_of(module, whole_units)
        graph[source]  # every unit is a node, even one importing nothing
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = _imported_names(node, module, path.name == "__init__.py", modules)
            for name in names:
                if name.split(".")[0] not in packages:
                    continue
                target = unit_of(name, whole_units)
                if target != source:
                    where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
                    graph[source][target].append(where)
    return {unit: dict(targets) for unit, targets in graph.items()}


def find_cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        on_stack.add(unit)
        for target in graph.get(unit, {}):
            if target not in index:
                visit(target)
                low[unit] = min(low[unit], low[target])
            elif target in on_stack:
                low[unit] = min(low[unit], index[target])
        if low[unit] == index[unit]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == unit:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for unit in sorted(graph):
        if unit not in index:
            visit(unit)
    return sorted(cycles)


def layer_violations(
    graph: dict[str, dict[str, list[str]]], layers: list[tuple[str, ...]]
) -> list[str]:
    """Imports of a unit from its own or a higher layer, and units missing from ``layers``."""
    level = {unit: i for i, layer in enumerate(layers) for unit in layer}
    problems = [f"{unit} is in no layer" for unit in sorted(graph) if unit not in level]
    for unit, targets in sorted(graph.items()):
        for target, where in sorted(targets.items()):
            if unit in level and target in level and level[target] >= level[unit]:
                problems.append(f"{unit} imports {target} (layer {level[target]} >= "
                                f"{level[unit]}) at {', '.join(where)}")  # fmt: skip
    return problems


def test_no_cycles_between_units() -> None:
    assert find_cycles(import_graph(REPO_ROOT)) == []


def test_imports_follow_the_layer_order() -> None:
    assert layer_violations(import_graph(REPO_ROOT), LAYERS) == []


def test_registry_imports_nothing_from_the_rest_of_fbnet() -> None:
    tree = ast.parse((REPO_ROOT / "fbnet/models/registry.py").read_text(encoding="utf-8"))
    names = [
        name
        for node in ast.walk(tree)
        for name in _imported_names(node, "fbnet.models.registry", False, set())
    ]
    assert [name for name in names if name.startswith(("fbnet", "data_pipeline"))] == []


def test_config_modules_do_not_import_each_other_at_run_time() -> None:
    # config_io may name TrainConfig for type checking only; config imports neither.
    config = ast.parse((REPO_ROOT / "fbnet/training/config.py").read_text(encoding="utf-8"))
    assert not any(
        "config_io" in name
        for node in ast.walk(config)
        for name in _imported_names(node, "fbnet.training.config", False, set())
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_checker_reports_a_cycle(tmp_path: Path) -> None:
    # fbnet.low imports fbnet.high inside a function, fbnet.high imports fbnet.low at module
    # level: a cycle, and a layer violation of the lower unit.
    _write(tmp_path, {
        "fbnet/__init__.py": "",
        "fbnet/low/__init__.py": "def f():\n    from fbnet.high import g\n    return g\n",
        "fbnet/high/__init__.py": "from ..low import f\n\ndef g():\n    return f\n",
        "fbnet/leaf.py": "import importlib\nimportlib.import_module('fbnet.high')\n",
    })  # fmt: skip
    graph = import_graph(tmp_path, ("fbnet",), ())
    assert graph["fbnet.low"] == {"fbnet.high": ["fbnet/low/__init__.py:2"]}
    assert graph["fbnet.high"] == {"fbnet.low": ["fbnet/high/__init__.py:1"]}
    assert graph["fbnet.leaf"] == {"fbnet.high": ["fbnet/leaf.py:2"]}
    assert find_cycles(graph) == [["fbnet.high", "fbnet.low"]]
    layers = [("fbnet",), ("fbnet.low",), ("fbnet.high",)]
    problems = layer_violations(graph, layers)
    assert any(p.startswith("fbnet.low imports fbnet.high") for p in problems), problems
    assert "fbnet.leaf is in no layer" in problems


def test_checker_accepts_one_way_imports(tmp_path: Path) -> None:
    _write(tmp_path, {
        "fbnet/__init__.py": "",
        "fbnet/low/__init__.py": "X = 1\n",
        "fbnet/high/__init__.py": "from fbnet import low\n",
    })  # fmt: skip
    graph = import_graph(tmp_path, ("fbnet",), ())
    assert graph["fbnet.high"] == {"fbnet.low": ["fbnet/high/__init__.py:1"]}
    assert find_cycles(graph) == []
    assert layer_violations(graph, [("fbnet",), ("fbnet.low",), ("fbnet.high",)]) == []
