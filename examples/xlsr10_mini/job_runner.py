"""The demo's job runner: stages with ``.completed`` markers (as in icefall's recipes), commands
run with their logs streamed for progress, and failures that name the stage, the command and the
log's tail."""
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

logger = logging.getLogger(__name__)

BIN = os.path.dirname(sys.executable)
_UPDATES = re.compile(r"num_updates[= ](\d+)")
_NUMBER = r"(?:[-\d.e+]+|nan|-?inf)"  # a language without frames in the window logs nan
_VALID = re.compile(rf"valid on '[^']+' subset((?: \| \S+ {_NUMBER})+)")
_FIELD = re.compile(rf"\| (\S+) ({_NUMBER})")


class StageFailed(RuntimeError):
    def __init__(self, stage: str, command: Sequence[str], log: str, tail: str):
        self.stage, self.command, self.log, self.tail = stage, list(command), log, tail
        super().__init__(
            f"stage '{stage}' failed.\ncommand: {shlex.join(self.command)}\nlog: {log}\n"
            f"last lines of the log:\n{tail}")


@dataclass
class Job:
    """One command of a stage. ``total`` updates (if it trains) are counted from its log; it
    starts once the jobs whose markers are in ``needs`` have completed."""
    name: str
    command: List[str]
    marker: str
    params: Dict
    total: int = 0
    cwd: Optional[str] = None
    clean: List[str] = field(default_factory=list)
    stage: str = ""  # for run_jobs' messages and timings; its ``stage`` argument if empty
    needs: List[str] = field(default_factory=list)


class Runner:
    """Runs stages under ``out``; ``report(line)`` receives the progress lines."""

    def __init__(self, out: str, report: Callable[[str], None], jobs: int = 1,
                 labels: Optional[Dict[str, str]] = None):
        self.out = out
        self.labels = labels or {}
        self.report = report
        self.jobs = max(1, jobs)
        self.start = time.time()
        self.timings: Dict[str, float] = {}
        self._lock = threading.Lock()
        os.makedirs(self.marker_dir, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)

    @property
    def marker_dir(self) -> str:
        return os.path.join(self.out, "markers")

    @property
    def log_dir(self) -> str:
        return os.path.join(self.out, "logs")

    def elapsed(self) -> str:
        s = int(time.time() - self.start)
        return f"{s // 60:02d}:{s % 60:02d}"

    def say(self, stage: str, text: str) -> None:
        with self._lock:
            self.report(f"[{self.elapsed()}] {self.labels.get(stage, stage)}: {text}")

    # markers -----------------------------------------------------------------------------
    def done(self, marker: str, params: Dict) -> bool:
        """True when ``marker`` was completed with the same ``params``."""
        path = os.path.join(self.marker_dir, marker + ".completed")
        if not os.path.exists(path):
            return False
        with open(path, encoding="utf-8") as f:
            return json.load(f) == json.loads(json.dumps(params))

    def mark(self, marker: str, params: Dict) -> None:
        path = os.path.join(self.marker_dir, marker + ".completed")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(params, f, indent=1, sort_keys=True)
        os.replace(path + ".tmp", path)

    # stages ------------------------------------------------------------------------------
    def stage(self, name: str, params: Dict, action: Callable[[], None],
              clean: Sequence[str] = ()) -> None:
        """Run ``action`` unless the stage completed with these ``params``; the folders in
        ``clean`` (stale outputs of other params) are removed first."""
        if self.done(name, params):
            self.say(name, "done in an earlier run, reused")
            return
        for path in clean:
            shutil.rmtree(path, ignore_errors=True)
        self.say(name, "started")
        t = time.time()
        action()
        self.timings[name] = round(time.time() - t, 1)
        self.mark(name, params)
        self.say(name, f"finished in {self.timings[name]:.0f} s")

    def run_jobs(self, stage: str, jobs: Sequence[Job], threads: Optional[int] = None) -> None:
        """Run the jobs not yet completed, ``self.jobs`` at a time, each as soon as the jobs it
        ``needs`` have completed (so that a fine-tuning starts while other pretrainings run)."""
        def stage_of(job: Job) -> str:
            return job.stage or stage

        todo = [j for j in jobs if not self.done(j.marker, j.params)]
        for name in sorted({stage_of(j) for j in jobs}):
            of_stage = [j for j in jobs if stage_of(j) == name]
            reused = len(of_stage) - len([j for j in todo if stage_of(j) == name])
            if reused:
                self.say(name, f"{reused} of {len(of_stage)} runs done earlier, reused")
        if not todo:
            return
        width = min(self.jobs, len(todo))
        env = dict(os.environ)
        if width > 1 or threads:
            env["OMP_NUM_THREADS"] = str(threads or max(1, (os.cpu_count() or 1) // width))
        unfinished = {j.marker for j in todo}
        unknown = {n for j in todo for n in j.needs} - {j.marker for j in jobs}
        if unknown:
            raise ValueError(f"jobs need runs that are not among them: {sorted(unknown)}")
        spans: Dict[str, List[float]] = {}
        with ThreadPoolExecutor(width) as pool:
            running = {}
            try:
                while todo or running:
                    ready = [j for j in todo if not unfinished & set(j.needs)]
                    for job in ready[:width - len(running)]:
                        todo.remove(job)
                        spans.setdefault(stage_of(job), [time.time(), 0.0])
                        running[pool.submit(self._run_job, stage_of(job), job, env)] = job
                    if not running:
                        raise RuntimeError(f"jobs waiting on each other: {[j.name for j in todo]}")
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        job = running.pop(future)
                        future.result()
                        unfinished.discard(job.marker)
                        spans[stage_of(job)][1] = time.time()
            except BaseException:
                # Start nothing more; the runs under way finish (and keep their markers).
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        for name, (begin, end) in spans.items():  # wall time from first start to last end
            self.timings[name] = round(self.timings.get(name, 0) + end - begin, 1)

    def _run_job(self, stage: str, job: Job, env: Dict[str, str]) -> None:
        for path in job.clean:
            shutil.rmtree(path, ignore_errors=True)
        log = os.path.join(self.log_dir, job.name + ".log")
        self.say(stage, f"{job.name} started (log {os.path.relpath(log, self.out)})")
        run_logged(job.command, log, env, job.cwd, stage,
                   lambda n: self.say(stage, f"{job.name} {n}/{job.total} updates"),
                   step=max(1, job.total // 5) if job.total else 0)
        self.mark(job.marker, job.params)
        self.say(stage, f"{job.name} finished")


def run_logged(command: Sequence[str], log: str, env: Dict[str, str], cwd: Optional[str],
               stage: str, on_update: Callable[[int], None], step: int = 0) -> None:
    """Run ``command`` with its output in ``log``; call ``on_update(n)`` whenever the log's
    ``num_updates`` passes another multiple of ``step``. Raises StageFailed on failure."""
    if cwd:
        os.makedirs(cwd, exist_ok=True)
    shown = 0
    with open(log, "w", encoding="utf-8") as out:
        out.write("$ " + shlex.join(command) + "\n")
        out.flush()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, cwd=cwd, text=True, errors="replace")
        for line in proc.stdout:
            out.write(line)
            match = _UPDATES.search(line) if step else None
            if match and int(match.group(1)) >= shown + step:
                shown = int(match.group(1)) // step * step
                on_update(int(match.group(1)))
        code = proc.wait()
    if code != 0:
        raise StageFailed(stage, command, log, tail(log))


def tail(path: str, lines: int = 25) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def read_validations(log: str, keep: str) -> List[Dict[str, float]]:
    """Every validation a fairseq log reports (format ``simple``), oldest first: the fields
    whose name matches the regular expression ``keep``, and ``num_updates``. Empty when the
    log is missing or the run never validated."""
    if not os.path.exists(log):
        return []
    with open(log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    pattern = re.compile(keep)
    return [{k: float(v) for k, v in _FIELD.findall(fields)
             if k == "num_updates" or pattern.fullmatch(k)} for fields in _VALID.findall(text)]


def config_files(config_dir: str, name: str) -> List[str]:
    """``name``.yaml in ``config_dir`` and the configs of the same folder its ``defaults`` list
    pulls in (``- xlsr_tiny``, ``- recipe: base_10h``), recursively."""
    import yaml

    path = os.path.join(config_dir, name + ".yaml")
    with open(path, encoding="utf-8") as f:
        defaults = (yaml.safe_load(f) or {}).get("defaults", [])
    files = [path]
    for entry in defaults:
        group, child = next(iter(entry.items())) if isinstance(entry, dict) else ("", entry)
        if child != "_self_":
            files += config_files(os.path.join(config_dir, group), child)
    return files


def plugin_version(root: str) -> str:
    """``__version__`` of ``root``/xlsr_plugin, read without importing fairseq."""
    with open(os.path.join(root, "xlsr_plugin", "__init__.py"), encoding="utf-8") as f:
        found = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M)
    return found.group(1) if found else "unknown"


def config_fingerprint(root: str, config_dir: str, name: str) -> Dict[str, str]:
    """What a marker records of a fairseq config: the plugin's version and the SHA-256 of each
    YAML file the config is composed of, so that an edited config re-runs its stages."""
    out = {"xlsr_plugin": plugin_version(root)}
    for path in config_files(config_dir, name):
        with open(path, "rb") as f:
            out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()[:16]
    return out


def fairseq_tool(name: str) -> str:
    """The venv's own fairseq executable (``fairseq-hydra-train``, ``fairseq-generate``)."""
    return os.path.join(BIN, name)


def shown_path(path: str) -> str:
    """``path`` relative to the working folder when it is under it, else as given."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel
