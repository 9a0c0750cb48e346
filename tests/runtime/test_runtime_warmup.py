"""Library imports before run_asynch.py forks: read from the world's code, never its own package, never fatal."""

import sys
import textwrap

from wmverse.runtime.warmup import FRAMEWORK_MODULES, imported_names, warm_imports


def test_top_level_absolute_imports_are_read_in_order():
    source = textwrap.dedent(
        """
        import os, json as j
        from collections import OrderedDict
        from . import sibling
        from .pkg import thing
        try:
            import tomllib
        except ImportError:
            tomllib = None
        if True:
            from email import message
        def later():
            import wave  # inside a function: not at import time
        """
    )
    assert imported_names(source) == [
        ("os", None),
        ("json", None),
        ("collections", "OrderedDict"),
        ("tomllib", None),
        ("email", "message"),
    ]
    assert imported_names("def broken(:\n") == []  # unparsable: nothing, no error


def _world(tmp_path, body: str):
    folder = tmp_path / "world"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "__init__.py").write_text("")
    (folder / "src" / "agent.py").write_text(body)
    (folder / "run_a.py").write_text("from src.agent import X\nimport wmv_no_such_module_anywhere\n")
    return folder


def test_the_libraries_are_imported_and_the_worlds_own_package_is_not(tmp_path, monkeypatch):
    for name in ("wave", "src", "src.agent"):
        sys.modules.pop(name, None)
    folder = _world(tmp_path, "import wave\nfrom html import parser\nimport wmv_broken_import\n")
    (tmp_path / "wmv_broken_import.py").write_text("raise RuntimeError('fails at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    imported = warm_imports(folder, [folder / "run_a.py"])
    assert "wave" in imported and "wave" in sys.modules
    assert "html.parser" in sys.modules  # ``from html import parser``: the submodule, as the statement would
    assert (
        "src" not in sys.modules and "src.agent" not in sys.modules
    )  # the world's own: left to its processes
    assert "wmv_broken_import" not in sys.modules  # failed: skipped, the agent process will report it
    assert all(m in sys.modules for m in FRAMEWORK_MODULES)


def test_a_lazy_attribute_is_loaded_as_from_would_load_it(tmp_path, monkeypatch):
    pkg = tmp_path / "wmv_lazy_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "loaded = []\n"
        "def __getattr__(name):\n"
        "    if name == 'Heavy':\n"
        "        loaded.append(name)\n"
        "        return object\n"
        "    raise AttributeError(name)\n"
    )
    folder = _world(tmp_path, "from wmv_lazy_pkg import Heavy\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "wmv_lazy_pkg", raising=False)  # and removed again after the test
    warm_imports(folder)
    assert sys.modules["wmv_lazy_pkg"].loaded == ["Heavy"]
