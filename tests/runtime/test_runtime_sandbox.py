"""The world sandbox forgets the world folder's modules, wherever their files are reached from."""

import sys
import types
from pathlib import Path

from wmverse.runtime.patches import _is_under, world_sandbox


def test_a_path_is_under_the_folder_after_following_symlinks_with_or_without_the_cache(tmp_path):
    world = (tmp_path / "world").resolve()
    (world / "src").mkdir(parents=True)
    (world / "src" / "a.py").write_text("")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "b.py").write_text("")
    (elsewhere / "link.py").symlink_to(world / "src" / "a.py")  # a file linked into the world
    (elsewhere / "linked_dir").symlink_to(world / "src")  # a directory linked into the world
    (world / "out_link.py").symlink_to(elsewhere / "b.py")  # a world file that is really elsewhere
    cases = {
        world / "src" / "a.py": True,
        world / "run_w.py": True,
        elsewhere / "b.py": False,
        elsewhere / "link.py": True,
        elsewhere / "linked_dir" / "a.py": True,
        world / "out_link.py": False,
        tmp_path / "worldly" / "c.py": False,  # a sibling whose name starts like the folder's
    }
    cache: dict[str, bool] = {}
    for path, expected in cases.items():
        assert _is_under(str(path), world) is expected, path
        assert _is_under(str(path), world, cache) is expected, path
    assert _is_under(None, world, cache) is False and _is_under("", world) is False


def test_the_sandbox_drops_the_worlds_modules_and_keeps_the_others(tmp_path):
    world = tmp_path / "world"
    (world / "lib").mkdir(parents=True)
    inside = types.ModuleType("wmv_sandbox_inside")
    inside.__file__ = str(world / "lib" / "helper.py")
    outside = types.ModuleType("wmv_sandbox_outside")
    outside.__file__ = str(tmp_path / "helper.py")
    sys.modules.update(wmv_sandbox_inside=inside, wmv_sandbox_outside=outside)
    try:
        with world_sandbox(world):
            assert "wmv_sandbox_inside" not in sys.modules
            assert sys.modules["wmv_sandbox_outside"] is outside
            assert Path.cwd() == world.resolve()
    finally:
        sys.modules.pop("wmv_sandbox_inside", None)
        sys.modules.pop("wmv_sandbox_outside", None)
