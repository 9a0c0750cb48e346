"""Rules on how the modules of ``wmverse`` import each other, checked on the source with ``ast``.

``import_graph`` maps each module to the package modules it imports at run time: at module level or
inside functions, but not in ``if TYPE_CHECKING:`` blocks (imports for type hints only).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "wmverse"


def module_name(path: Path, root: Path) -> str:
    """``root/wmverse/a/b.py`` -> ``wmverse.a.b``; ``root/wmverse/a/__init__.py`` -> ``wmverse.a``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING`` (or any ``X.TYPE_CHECKING``)."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree`` outside ``if TYPE_CHECKING:`` bodies (their ``else`` counts)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _resolve_from(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The absolute module name of ``from <module> import ...`` written in module ``importer``."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]  # a module's relative imports start from its package
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports at run time, for every ``root/package/**/*.py``.

    ``import a.b.c`` counts as importing ``a.b.c``; ``from pkg import name`` as importing ``pkg.name`` when
    that is a module, else ``pkg`` (the package's ``__init__`` defines ``name``). Parent packages, which
    Python imports first anyway, are not counted: ``from . import sub`` inside ``pkg`` depends on
    ``pkg.sub`` only, as ``from .sub import x`` does. Only modules of ``package`` are kept.
    """
    files = sorted((root / package).rglob("*.py"))
    modules = {module_name(f, root): f for f in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for node in _runtime_imports(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            else:
                base = _resolve_from(node, name, path.name == "__init__.py")
                subs = {f"{base}.{alias.name}" for alias in node.names}
                targets.update(subs & modules.keys())
                if not subs <= modules.keys():  # a name defined in the package's __init__
                    targets.add(base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def connect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(components)


def describe_cycle(graph: dict[str, set[str]], component: list[str]) -> str:
    """The component's modules and, for each, which of the others it imports."""
    members = set(component)
    lines = [f"cycle among {len(component)} modules:"]
    for mod in component:
        lines.append(f"  {mod} -> {', '.join(sorted(graph[mod] & members))}")
    return "\n".join(lines)


def test_no_import_cycles() -> None:
    graph = import_graph(SRC, PACKAGE)
    cycles = find_cycles(graph)
    assert not cycles, "\n".join(describe_cycle(graph, c) for c in cycles)
