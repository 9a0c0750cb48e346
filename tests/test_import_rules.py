"""Rules on how the project's modules import each other, checked on the source with ``ast``.

``import_graph`` maps each module to the package modules it imports at run time: at module level or
inside functions, but not in ``if TYPE_CHECKING:`` blocks (imports for type hints only).

The layers, bottom up: the model libraries (``wmverse.debate``, ``leworld``, ``canvas``, ``dynamics``) import
no world machinery and no unaiverse; the generic packages (``wmverse.runtime``, ``dashboard``, ``store``)
know no model and no world; ``agents`` (processors) import ``wmverse`` only; a world folder
(``worlds/*/src``) may import all of them, and nothing imports a world. No module is over 400 lines and
nothing edits ``sys.path`` except the runtime's world sandbox, which puts a world folder first on the path
exactly as ``python run_w.py`` does.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
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


MODEL_LIBRARIES = ("wmverse.debate", "wmverse.leworld", "wmverse.canvas", "wmverse.dynamics")
GENERIC_PACKAGES = ("wmverse.runtime", "wmverse.dashboard", "wmverse.store", "wmverse.checkpoint")
#: The only place allowed to edit sys.path (see the module docstring).
SYS_PATH_OWNER = SRC / "wmverse" / "runtime" / "patches.py"


def imported_names(root: Path, package: str) -> dict[str, set[str]]:
    """Module of ``root/package`` -> every absolute module name it imports at run time (any package)."""
    out: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        name = module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found: set[str] = set()
        for node in _runtime_imports(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            else:
                found.add(_resolve_from(node, name, path.name == "__init__.py"))
        out[name] = found
    return out


def _offenders(imports: dict[str, set[str]], owners: tuple[str, ...], banned: tuple[str, ...]) -> list[str]:
    def under(name: str, prefixes: tuple[str, ...]) -> bool:
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    return sorted(
        f"{mod} imports {target}"
        for mod, targets in imports.items()
        if under(mod, owners)
        for target in targets
        if under(target, banned)
    )


def test_libraries_never_import_agents_or_worlds() -> None:
    imports = imported_names(SRC, PACKAGE)
    assert not _offenders(imports, (PACKAGE,), ("agents", "worlds", "src"))
    assert not _offenders(imported_names(REPO, "agents"), ("agents",), ("worlds", "src"))


def test_generic_packages_know_no_model_library() -> None:
    assert not _offenders(imported_names(SRC, PACKAGE), GENERIC_PACKAGES, MODEL_LIBRARIES)


def test_model_libraries_import_no_world_machinery_nor_unaiverse() -> None:
    banned = (*GENERIC_PACKAGES, "unaiverse")
    assert not _offenders(imported_names(SRC, PACKAGE), MODEL_LIBRARIES, banned)


def test_no_import_cycles_in_agents_and_worlds() -> None:
    for package in ("agents", "worlds"):
        cycles = find_cycles(import_graph(REPO, package))
        assert not cycles, cycles


def _python_files() -> list[Path]:
    roots = [SRC, REPO / "agents", REPO / "worlds", REPO / "tests", REPO / "benchmarks"]
    return sorted({*(p for r in roots for p in r.rglob("*.py")), *REPO.glob("*.py")})


def test_no_module_over_400_lines() -> None:
    long = [
        f"{p.relative_to(REPO)}: {n} lines"
        for p in _python_files()
        if "tests" not in p.relative_to(REPO).parts[:1]
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert not long, long


def _edits_sys_path(tree: ast.AST) -> bool:
    def is_sys_path(node: ast.AST) -> bool:
        if isinstance(node, ast.Subscript):
            node = node.value
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "path"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        )

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_sys_path(node.func.value):
            if node.func.attr in ("insert", "append", "extend", "remove", "pop", "clear"):
                return True
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(is_sys_path(t) for t in targets):
                return True
    return False


def test_nothing_edits_sys_path_but_the_world_sandbox() -> None:
    editors = [
        str(p.relative_to(REPO))
        for p in _python_files()
        if p != SYS_PATH_OWNER and _edits_sys_path(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert not editors, editors
    assert _edits_sys_path(ast.parse(SYS_PATH_OWNER.read_text(encoding="utf-8")))  # the checker sees edits
