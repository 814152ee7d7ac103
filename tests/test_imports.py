"""Imports inside lvmfast run one way: no module imports, directly or through
others, a module that imports it back.

The graph is read from the source (ast), not from what Python happened to
load: module-level and function-level imports both count, since an import
hidden in a function is a cycle all the same. An edge goes to the lvmfast
module imported, and to its package __init__ files only where an import
names the package itself (``from lvmfast.cluster import KMeans``).
"""
import ast
import importlib.util
import pkgutil
from pathlib import Path

import lvmfast


def _lvmfast_modules():
    """{module name: source path} of every lvmfast module (compiled
    extensions have no Python imports and are left out)."""
    modules = {"lvmfast": Path(lvmfast.__file__)}
    for info in pkgutil.walk_packages(lvmfast.__path__, prefix="lvmfast."):
        spec = importlib.util.find_spec(info.name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            modules[info.name] = Path(spec.origin)
    return modules


def _resolve(module, is_package, level, name):
    """The absolute name of a relative import in `module`."""
    if level == 0:
        return name
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _imported(module, path, modules):
    """The lvmfast modules that `module` (source at `path`) imports anywhere."""
    is_package = path.name == "__init__.py"
    found = set()

    def add(name):
        # the module itself when it is one, else the nearest enclosing module
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)

    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "lvmfast" or alias.name.startswith("lvmfast."):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            if not (base == "lvmfast" or base.startswith("lvmfast.")):
                continue
            for alias in node.names:
                # `from package import module` imports that module
                submodule = f"{base}.{alias.name}"
                add(submodule if submodule in modules else base)
    return found


def import_graph():
    modules = _lvmfast_modules()
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def find_cycles(graph):
    """One cycle through each knot of modules that import each other (each
    strongly connected component of more than one module): every module
    on a cycle is in one of them."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = [0]

    def connect(node):
        # Tarjan's algorithm (the graph is small: recursion is fine)
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_through(graph, component) for component in components]


def _cycle_through(graph, component):
    """A shortest cycle from the component's first module back to it."""
    members, start = set(component), component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    return paths[node] + [start]
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    following.append(nxt)
        frontier = following
    return component


def test_the_graph_sees_lvmfast_modules_and_their_imports():
    graph = import_graph()
    assert {"lvmfast.cluster._kmeans", "lvmfast.cluster._rows", "lvmfast.dask._kmeans"} <= set(graph)
    assert "lvmfast.cluster._rows" in graph["lvmfast.cluster._lloyd"]
    assert "lvmfast.cluster._kmeans" in graph["lvmfast.dask._kmeans"]  # `from lvmfast.cluster import _kmeans`


def test_find_cycles_reports_each_cycle_including_function_level_imports(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": {"e"}}
    assert sorted(find_cycles(graph)) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from . import other\n    import lvmfast.cluster._rows\n")
    modules = {"lvmfast.pkg.m": source, "lvmfast.pkg.other": source, "lvmfast.cluster._rows": source}
    assert _imported("lvmfast.pkg.m", source, modules) == {"lvmfast.pkg.other", "lvmfast.cluster._rows"}


def test_no_import_cycle_inside_lvmfast():
    graph = import_graph()
    cycles = find_cycles(graph)
    report = []
    for cycle in cycles:
        knot = _knot(graph, cycle[0])
        others = f" (and through {', '.join(sorted(knot - set(cycle)))})" if knot - set(cycle) else ""
        report.append(" -> ".join(cycle) + others)
    assert not cycles, "import cycles inside lvmfast:\n" + "\n".join(report)


def _knot(graph, module):
    """The modules that `module` reaches and that reach it back."""
    def reach(start, edges):
        seen, todo = {start}, [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reverse = {}
    for node, targets in graph.items():
        for target in targets:
            reverse.setdefault(target, set()).add(node)
    return reach(module, graph) & reach(module, reverse)
