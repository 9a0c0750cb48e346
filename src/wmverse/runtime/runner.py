"""Run a world folder (unaiverse-examples layout) in one process on the synthetic clock.

``run_world(folder, config)`` loads ``run_w.py`` then every ``run_*.py`` (sorted) with ``runpy`` at
their real paths, with ``Node`` replaced by :class:`~wmverse.runtime.node.LocalNode`, then ticks the
registered nodes until the world says it is finished or ``max_steps`` ticks ran. It prints every
user-facing log line (the HSMs' messages) with the synthetic time and the node's name, and at the
end the world's ``summary()``, the stats database path, the dashboard path and the run's id in the run
store, where every run is recorded as it goes (:mod:`wmverse.runtime.recorder`).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import runpy
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from wmverse.runtime import background
from wmverse.runtime.checkpointing import ResumeError, open_checkpointer
from wmverse.runtime.clock import SyntheticClock, patched_time
from wmverse.runtime.collector import freeze_loaded, tuned_collector
from wmverse.runtime.config import RunResult, RuntimeConfig
from wmverse.runtime.ending import close_world_stats, finish_world
from wmverse.runtime.errors import ScriptFailure, describe_failure
from wmverse.runtime.fast_paths import fast_paths
from wmverse.runtime.interrupts import graceful_interrupts
from wmverse.runtime.node import LocalNode, set_active_runtime
from wmverse.runtime.patches import (
    framework_globals,
    local_node_class,
    offline_profiles,
    recorded_transitions,
    seeded_globals,
    seeded_interaction_ids,
    world_sandbox,
)
from wmverse.runtime.scheduler import Runtime
from wmverse.runtime.stable_order import stable_order

#: Environment variable holding the output folder while the scripts run (worlds may place files there).
OUT_DIR_ENV = "WMVERSE_OUT_DIR"

#: Prefix of the messages unaiverse's @action wrapper logs when an action raises.
_ACTION_FAILED_PREFIX = "Action '"


class WorldFolderError(ValueError):
    """The folder is not a world folder (no run_w.py)."""


def discover_scripts(world_folder: Path, skip: frozenset[str]) -> list[Path]:
    """``run_w.py`` first, then the other ``run_*.py`` sorted by name (runners and demos skipped)."""
    world_folder = Path(world_folder)
    if not world_folder.is_dir():
        raise WorldFolderError(f"world folder not found: {world_folder}")
    world_script = world_folder / "run_w.py"
    if not world_script.is_file():
        raise WorldFolderError(f"{world_folder} has no run_w.py: not a world folder in the examples layout")
    agents = sorted(
        p
        for p in world_folder.glob("run_*.py")
        if p.name != "run_w.py" and p.name not in skip and not p.name.startswith("run_demo")
    )
    return [world_script, *agents]


class _Printer:
    """The log sink: prints user-facing lines with synthetic time and node, and collects them."""

    def __init__(self, runtime: Runtime, quiet: bool, write: Callable[[str], None]) -> None:
        from unaiverse.custom import Custom

        self._ticks = {str(t) for t in Custom.ACTION_TICKS_PER_STATUS}
        self.runtime = runtime
        self.quiet = quiet
        self.write = write
        self.lines: list[str] = []
        self._last: dict[str, tuple[str | None, str | None]] = {}  # node -> (last message, last action tick)

    def _who(self) -> str:
        node = self.runtime.current_node
        if node is not None:
            return node.node_name
        script = self.runtime.current_script
        return script.name if script is not None else "runtime"

    def __call__(self, channel: str, record: dict[str, Any]) -> None:
        msg = record.get("msg")
        if msg is None or channel not in ("USER", "ERROR", "CRITICAL"):
            return
        text = html.unescape(str(msg))
        who = self._who()
        if channel == "USER" and not record.get("info", {}).get("rep", False):
            # unaiverse's screen printer drops repeats (and repeated action ticks): same rule, per node
            last_msg, last_tick = self._last.get(who, (None, None))
            if str(msg) in self._ticks:
                if str(msg) == last_tick:
                    return
                self._last[who] = (last_msg, str(msg))
            elif str(msg) == last_msg:
                return
            else:
                self._last[who] = (str(msg), None)
        stamp = f"[t={self.runtime.clock.elapsed_s:10.3f}s]"
        if channel == "USER":
            line = f"{stamp} {who}: {text}"
            self.lines.append(line)
        else:
            line = f"{stamp} {who}: {channel}: {text}"
            if channel == "ERROR" and text.startswith(_ACTION_FAILED_PREFIX):
                self.runtime.record_action_failure(text)
        if not self.quiet:
            self.write(line)


@contextlib.contextmanager
def _logger(runtime: Runtime, printer: _Printer, log_dir: Path) -> Iterator[None]:
    """A fresh unaiverse logger whose only output is ``printer`` (restored afterwards)."""
    from unaiverse.utils.logger import ALWAYS_ON_CHANNELS, log

    previous = log.__dict__.get("_Logger__instance")
    log.create(
        name="run_synch",
        log_dir=str(log_dir),
        active=set(ALWAYS_ON_CHANNELS),
        no_color=True,
        file_enabled=False,
    )
    log.set_print_fcn(lambda *a, **k: None, None, None, True, True)
    log.add_record_sink(printer)
    log.set_clock(runtime.clock)
    try:
        yield
    finally:
        log._Logger__instance = previous


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _load_script(runtime: Runtime, script: Path) -> None:
    runtime.current_script = script
    sys.argv[:] = [str(script)]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise describe_failure(f"loading {script.name}", exc, script, runtime.world_folder) from exc
    except Exception as exc:  # noqa: BLE001 - reported with file and line
        raise describe_failure(f"loading {script.name}", exc, script, runtime.world_folder) from exc
    finally:
        runtime.current_script = None


@contextlib.contextmanager
def run_context(runtime: Runtime, printer: _Printer) -> Iterator[None]:
    """Every process-wide patch a run needs (clock, seeds, Node class, sandbox, logger), undone on exit."""
    config, folder, out_dir = runtime.config, runtime.world_folder, runtime.out_dir
    with contextlib.ExitStack() as stack:
        stack.enter_context(framework_globals())
        stack.enter_context(seeded_globals(config.seed))
        stack.enter_context(patched_time(runtime.clock))
        stack.enter_context(seeded_interaction_ids(config.seed))
        stack.enter_context(offline_profiles(runtime.clock.get_time_as_string()))
        stack.enter_context(local_node_class(LocalNode))
        stack.enter_context(recorded_transitions(runtime))
        stack.enter_context(fast_paths())
        stack.enter_context(stable_order())
        stack.enter_context(tuned_collector())
        stack.enter_context(_environ(OUT_DIR_ENV, str(out_dir)))
        stack.enter_context(_environ("WMVERSE_OUT", str(out_dir)))
        stack.enter_context(_environ("WMVERSE_SEED", str(config.seed)))
        stack.enter_context(world_sandbox(folder))
        stack.enter_context(background.lanes(runtime.parallel_jobs, runtime.lane_start_method))
        stack.enter_context(_logger(runtime, printer, out_dir))
        stack.callback(close_world_stats, runtime)
        stack.callback(runtime.role_code.cleanup)
        stack.callback(set_active_runtime, None)
        set_active_runtime(runtime)
        yield


def load_script(runtime: Runtime, script: Path) -> None:
    """Runs one node script (its ``Node`` is the local node); failures name the script, file and line."""
    _load_script(runtime, script)


def prepare_folder(
    world_folder: str | Path, config: RuntimeConfig
) -> tuple[Path, list[Path], Path] | RunResult:
    """(folder, its node scripts, the output folder, created) -- or the exit-2 result of a folder that is not a
    world folder. Shared by every runner so they agree on what a world folder and its outputs are."""
    folder = Path(world_folder).resolve()
    try:
        scripts = discover_scripts(folder, config.skip_scripts)
    except WorldFolderError as exc:
        return RunResult(
            exit_code=2, steps=0, sim_seconds=0.0, ended_by="error", transitions=[], error=str(exc)
        )
    out_dir = Path(config.out_dir).resolve() if config.out_dir is not None else folder / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    return folder, scripts, out_dir


def run_world(
    world_folder: str | Path,
    config: RuntimeConfig | None = None,
    write: Callable[[str], None] | None = None,
    driver: Any = None,
) -> RunResult:
    """Runs the world folder and returns what happened; never raises for failures of the world's code.

    Contract: exit_code 0 when the world finished or ``max_steps`` ticks ran, 1 when a script or an
    action failed (``error`` names the script, file and line), 2 when the folder is not a world folder.
    Ctrl-C ends the ticking (``ended_by='interrupted'``) and still runs the end-of-run hooks.

    ``driver`` (optional, e.g. :class:`~wmverse.runtime.hub.Hub`) takes over the ticking: it chooses the
    scripts loaded here (``select_scripts``), is attached before they load (``attach(runtime, printer)``),
    runs the loop (``await run() -> ended_by``), names the nodes and counts the messages of the whole run
    (``node_names()``, ``messages()``) and is closed at the end (``close()``).
    """
    config = config or RuntimeConfig()
    write = write or (lambda line: print(line, flush=True))
    prepared = prepare_folder(world_folder, config)
    if isinstance(prepared, RunResult):
        return prepared
    folder, scripts, out_dir = prepared
    if driver is not None:
        scripts = driver.select_scripts(scripts)

    clock = SyntheticClock(epoch_s=config.epoch_s)
    runtime = Runtime(folder, config, clock, out_dir)
    printer = _Printer(runtime, config.quiet, write)
    result = RunResult(exit_code=0, steps=0, sim_seconds=0.0, ended_by="error", transitions=printer.lines)
    recorder = _open_recorder(folder, config, runtime, write, driver)
    if isinstance(recorder, RunResult):
        return recorder
    status = "failed"
    try:
        _run(runtime, printer, scripts, driver, result, write)
        status = (
            "failed" if result.exit_code else "killed" if result.ended_by == "interrupted" else "finished"
        )
    except (KeyboardInterrupt, SystemExit):
        status = "killed"
        raise
    finally:
        if recorder is not None:
            recorder.finish(status)
            result.run_id, result.store = recorder.run_id, recorder.where
    result.steps = runtime.steps
    result.sim_seconds = clock.elapsed_s
    if driver is not None:
        result.nodes = driver.node_names()
        result.messages = driver.messages()
    else:
        result.nodes = [n.node_name for n in runtime.order()]
        result.messages = runtime.router.delivered
    return result


def _open_recorder(folder: Path, config: RuntimeConfig, runtime: Runtime, write, driver) -> Any:
    """The run's recorder (None: not recorded), or the exit-2 result of a store that cannot be opened."""
    from wmverse.runtime.recorder import open_recorder, store_location
    from wmverse.store import StoreError

    if store_location(folder, config.db) is None:
        return None
    try:
        return open_recorder(folder, config, runtime, driver.messages if driver else None, write, driver)
    except StoreError as exc:
        if driver is not None:
            driver.close()
        error = f"run store: {exc}"
        return RunResult(exit_code=2, steps=0, sim_seconds=0.0, ended_by="error", transitions=[], error=error)


def _run(runtime: Runtime, printer: _Printer, scripts: list[Path], driver, result: RunResult, write) -> None:
    """Loads the scripts and ticks (``run_world``'s body); fills ``result``."""
    config, folder, out_dir = runtime.config, runtime.world_folder, runtime.out_dir
    checkpointer = None
    try:
        with run_context(runtime, printer):
            if driver is not None:
                driver.attach(runtime, printer)
            started = time.perf_counter()
            for script in scripts:
                _load_script(runtime, script)
            result.load_wall_s = time.perf_counter() - started
            world_node = runtime.world_node
            if world_node is not None:
                world_node.hosted.runtime_out_dir = str(out_dir)
            if driver is None:
                checkpointer = open_checkpointer(runtime, printer, write)
            freeze_loaded()  # the loaded world: out of the full collections' way until the run ends
            started = time.perf_counter()
            try:
                with graceful_interrupts(runtime, write):
                    result.ended_by = asyncio.run(driver.run() if driver is not None else runtime.run())
            except KeyboardInterrupt:
                result.ended_by = "interrupted"
                if runtime.world_node is None:
                    raise
            finally:
                result.loop_wall_s = time.perf_counter() - started
            if checkpointer is not None and result.ended_by == "interrupted" and not runtime.aborted:
                line = checkpointer.save()
                if line:
                    write(line)
            if checkpointer is not None and checkpointer.last_saved_tick is not None:
                result.checkpoint = checkpointer.store.path_for(checkpointer.last_saved_tick)
            if runtime.aborted:
                return  # a second Ctrl-C: quit at once, no end-of-run hooks
            try:
                result.summary, result.stats_db, result.dashboard = finish_world(runtime, out_dir)
            except Exception as exc:  # noqa: BLE001 - a failing world hook is reported with its location
                raise describe_failure("the world's end-of-run hooks", exc, scripts[0], folder) from exc
    except ScriptFailure as failure:
        result.exit_code = 1
        result.ended_by = "error"
        result.error = str(failure)
        if failure.cause is not None and not config.quiet:
            write("".join(traceback.format_exception(failure.cause)).rstrip())
    except ResumeError as exc:
        result.exit_code = 2 if runtime.steps == 0 else 1
        result.ended_by = "error"
        result.error = f"resume: {exc}"
    finally:
        if checkpointer is not None:
            checkpointer.close()
        if driver is not None:
            driver.close()


def format_report(result: RunResult) -> str:
    """The closing block run_synch prints."""
    lines = [
        f"=== run ended by {result.ended_by}: {result.steps} ticks, {result.sim_seconds:.3f} simulated s, "
        f"{len(result.nodes)} nodes, {result.messages} messages ==="
    ]
    if result.summary:
        lines.append(result.summary)
    if result.stats_db is not None:
        lines.append(f"stats database: {result.stats_db}")
    if result.dashboard is not None:
        lines.append(f"dashboard: {result.dashboard}")
    if result.run_id is not None:
        lines.append(f"run store: run {result.run_id} in {result.store}")
    if result.checkpoint is not None:
        lines.append(f"checkpoint: {result.checkpoint}")
    if result.error:
        lines.append(f"ERROR: {result.error}")
    return "\n".join(lines)
