"""The package's imports flow one way: no cycle between its modules, counting imports inside functions too.

An AST walk over every module of `rmt_alpha` collects each `import` / `from ... import` that names a module of the
package (at module level, inside functions, under `if TYPE_CHECKING:`: all of them), and Tarjan's algorithm
(scipy's strongly connected components) finds every cycle.
"""

import ast
from pathlib import Path

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

import rmt_alpha

PACKAGE_ROOT = Path(rmt_alpha.__file__).parent


def package_modules(root: Path = PACKAGE_ROOT) -> dict:
    """{dotted module name: (path, is_package)} for every .py file under `root`."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def import_edges(modules: dict) -> dict:
    """{module: the package modules it imports}, function-level imports included."""
    edges = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                edges[name] |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    if f"{target}.{alias.name}" in modules:
                        edges[name].add(f"{target}.{alias.name}")
                    elif target in modules:
                        edges[name].add(target)
        edges[name].discard(name)
    return edges


def import_cycles(edges: dict) -> list:
    """The strongly connected components of more than one module (each one holds an import cycle)."""
    names = sorted(edges)
    index = {name: i for i, name in enumerate(names)}
    pairs = [(index[a], index[b]) for a in names for b in edges[a]]
    rows, cols = np.array(pairs, dtype=int).reshape(-1, 2).T
    graph = scipy.sparse.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(len(names),) * 2)
    count, labels = scipy.sparse.csgraph.connected_components(graph, directed=True, connection="strong")
    components = [[names[i] for i in np.flatnonzero(labels == label)] for label in range(count)]
    return [component for component in components if len(component) > 1]


def test_no_import_cycle():
    modules = package_modules()
    assert "rmt_alpha._prepare" in modules and "rmt_alpha.cli" in modules
    assert import_cycles(import_edges(modules)) == []


# The layers of the README's Layout section and what each may import ("maths" is the top level's private modules and
# the package itself). linear, the one fitting engine, needs nothing of the maths but the input checks, so the maths
# may fit through it (choose_alpha's source ridge) without a cycle.
ALLOWED_LAYERS = {
    "maths": {"linear"},
    "linear": {"maths"},
    "data": {"maths"},
    "nn": {"maths"},
    "plots": {"maths"},
    "simulate": {"maths", "linear"},
    "sklearn": {"maths", "linear"},
    "experiments": {"maths", "linear", "data", "nn", "plots"},
    "cli": {"maths", "linear", "data", "nn", "plots", "simulate", "sklearn", "experiments"},
}
LINEAR_MAY_USE = {"rmt_alpha._validation"}


def layer(module: str) -> str:
    parts = module.split(".")
    return "maths" if len(parts) == 1 or parts[1].startswith("_") else parts[1]


def test_imports_follow_the_layers():
    edges = import_edges(package_modules())
    crossing = sorted((a, b) for a, targets in edges.items() for b in targets
                      if layer(a) != layer(b) and layer(b) not in ALLOWED_LAYERS[layer(a)])
    assert crossing == []
    linear_uses = {b for a, targets in edges.items() if layer(a) == "linear" for b in targets if layer(b) == "maths"}
    assert linear_uses <= LINEAR_MAY_USE


def test_the_walk_sees_function_level_imports_and_finds_a_cycle(tmp_path):
    """The checker itself can fail: a two-module package whose second module imports the first inside a
    function is reported as a cycle."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_a.py").write_text("from pkg._b import helper\n")
    (package / "_b.py").write_text("def helper():\n    from pkg import _a\n    return _a\n")
    edges = import_edges(package_modules(package))
    assert edges["pkg._b"] == {"pkg._a"}
    assert import_cycles(edges) == [["pkg._a", "pkg._b"]]
