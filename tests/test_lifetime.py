"""A child that does not outlive its parent (``wmverse.lifetime.die_with_parent``), run in fresh interpreters."""

import subprocess
import sys
import textwrap
import time
from pathlib import Path


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return True


def test_a_child_whose_parent_is_already_gone_exits_at_once():
    done = _python(
        """
        import os, signal
        from wmverse.lifetime import die_with_parent
        pid = os.fork()
        if pid == 0:
            die_with_parent(signal.SIGKILL, parent_pid=-1)  # not its parent: as if the parent had died
            os._exit(0)
        print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_a_child_is_killed_when_its_parent_dies(tmp_path):
    pid_file = tmp_path / "child.pid"
    done = _python(
        f"""
        import os, signal, time
        from wmverse.lifetime import die_with_parent
        parent = os.getpid()
        if os.fork() == 0:
            die_with_parent(signal.SIGKILL, parent)
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(60)
            os._exit(0)
        while not os.path.exists({str(pid_file)!r}) or not open({str(pid_file)!r}).read():
            time.sleep(0.01)
        os._exit(0)  # the parent ends; its child must not live on
        """
    )
    assert done.returncode == 0, done.stderr
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)
