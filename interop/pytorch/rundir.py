"""The run directory of ``primer-ez train``, written from Python (``packages/trainer/src/node.ts``).

::

    RUN/
      run.lock                    the one writer's pid, host and start time (while it runs)
      metrics.jsonl               one JSON object per line: step, loss | val_loss, lr, ...
      latest.json                 {"checkpoint": "checkpoints/step-000500", "step": 500, "val_loss": ...}
      best.json                   the same, for the best validation loss so far
      checkpoints/step-000500/    config.json, model.safetensors, tokenizer.json,
                                  trainer_state.json, optimizer.safetensors

A checkpoint directory is written under ``step-N.tmp-<pid>-<hex>``, every file flushed, then
renamed into place (a checkpoint it replaces is moved aside to ``step-N.old-<pid>-<hex>`` first);
pointer files are written to ``<name>.<pid>-<hex>.tmp`` and renamed over. A save killed at any
moment leaves what was saved before intact, and opening the directory again clears what it left
behind (only debris of a dead process, told by the pid in its name). One process writes: rank 0,
holding ``run.lock`` (``{"pid", "host", "started", "processStart"}``, hard-linked into place so
that two writers cannot both create it; a lock whose process is dead on this host is taken over)
— the TypeScript trainer's lock (``@primer-ez/node-io``), so neither trainer writes a run the
other is writing.
"""

from __future__ import annotations

import atexit
import datetime
import json
import math
import os
import re
import secrets
import shutil
import socket
import time
from typing import Callable, Dict, List, Optional, Union

__all__ = ["RunDirectory", "RunDirectoryError", "find_checkpoint", "resume_candidates", "release_locks", "CHECKPOINT_FILES"]

CHECKPOINT_FILES = ("config.json", "model.safetensors", "trainer_state.json", "optimizer.safetensors")
RUN_FILES = ("metrics.jsonl", "latest.json", "best.json", "run.json")
LOCK_FILE = "run.lock"
_STEP_DIR = re.compile(r"^step-\d+$")
_TEMP = re.compile(r"\.(?:tmp-(?:(\d+)-)?[0-9a-f]+|(?:(\d+)-)?[0-9a-f]+\.tmp)$")


class RunDirectoryError(OSError):
    """The run directory cannot be written or read as asked."""


def _tag() -> str:
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
        return True
    except PermissionError:
        return True
    except OSError:
        return False


def _process_start(pid: int) -> Optional[str]:
    """Start time of ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    try:
        with open(f"/proc/{pid}/stat", "r", encoding="utf-8") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split(" ")
    return fields[19] if len(fields) > 19 else None


def _abandoned(name: str) -> bool:
    """A temporary name whose writer is this process, is dead, or predates pids in names."""
    m = _TEMP.search(name)
    if not m:
        return False
    pid = m.group(1) or m.group(2)
    return pid is None or not _alive(int(pid)) or int(pid) == os.getpid()


def write_file_atomic(path: str, data: bytes) -> None:
    """``writeFileAtomic``: ``path.<pid>-<hex>.tmp``, flushed, renamed over ``path``."""
    temp = f"{path}.{_tag()}.tmp"
    try:
        with open(temp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    _fsync_dir(os.path.dirname(path))


def _create_exclusive(path: str, text: str) -> bool:
    """Creates ``path`` holding ``text`` whole, only if it does not exist (hard link)."""
    temp = f"{path}.{_tag()}.tmp"
    write_file_atomic(temp, text.encode())
    try:
        os.link(temp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(temp)


def _read_lock(path: str) -> Union[Dict[str, object], str]:
    try:
        with open(path, "r", encoding="utf-8") as f:
            holder = json.loads(f.read(4096))
    except FileNotFoundError:
        return "gone"
    except (OSError, ValueError):
        return "damaged"
    if isinstance(holder, dict) and isinstance(holder.get("pid"), int) and isinstance(holder.get("host"), str) and isinstance(holder.get("started"), str):
        return holder
    return "damaged"


def _stale(holder: Dict[str, object]) -> bool:
    if holder["host"] != socket.gethostname():
        return False
    pid = int(holder["pid"])  # type: ignore[call-overload]
    if not _alive(pid) or pid == os.getpid():
        return True
    start = _process_start(pid)
    return holder.get("processStart") is not None and start is not None and start != holder["processStart"]


_HELD: List["_Lock"] = []


def release_locks() -> None:
    """Gives up every lock this process holds (for an exit that skips ``atexit``)."""
    for lock in list(_HELD):
        lock.release()


class _Lock:
    """``DirectoryLock`` of @primer-ez/node-io: ``run.lock``, taken over when provably stale."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, LOCK_FILE)
        me: Dict[str, object] = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        start = _process_start(os.getpid())
        if start is not None:
            me["processStart"] = start
        self.text = json.dumps(me, separators=(",", ":")) + "\n"
        for _ in range(8):
            if _create_exclusive(self.path, self.text):
                atexit.register(self.release)
                _HELD.append(self)
                return
            found = _read_lock(self.path)
            if found == "gone":
                continue
            if isinstance(found, dict) and not _stale(found):
                here = found["host"] == socket.gethostname()
                raise RunDirectoryError(
                    f"{directory} is in use by another process (pid {found['pid']} on host {found['host']}, "
                    f"since {found['started']}); "
                    + ("wait for it to finish, or choose another --out" if here else f"if that process is gone, delete {self.path}")
                )
            self._break(found)
        raise RunDirectoryError(f"{directory}: could not take its lock {self.path} (other processes keep taking it); try again")

    def _break(self, stale: Union[Dict[str, object], str]) -> None:
        breaker = f"{self.path}.break"
        text = json.dumps({"pid": os.getpid(), "host": socket.gethostname()}) + "\n"
        for _ in range(100):
            if _create_exclusive(breaker, text):
                try:
                    if _read_lock(self.path) == stale:
                        os.unlink(self.path)
                finally:
                    os.unlink(breaker)
                return
            try:
                if time.time() - os.stat(breaker).st_mtime > 5:
                    os.unlink(breaker)
                    continue
            except OSError:
                continue
            time.sleep(0.02)

    def release(self) -> None:
        if self in _HELD:
            _HELD.remove(self)
        try:
            with open(self.path, "r", encoding="utf-8") as f:
                if f.read(4096) == self.text:
                    os.unlink(self.path)
        except OSError:
            pass


def _is_checkpoint(path: str) -> bool:
    return all(os.path.isfile(os.path.join(path, f)) for f in CHECKPOINT_FILES)


def _pointer_target(run: str, pointer: str) -> Optional[str]:
    try:
        with open(os.path.join(run, f"{pointer}.json"), "r", encoding="utf-8") as f:
            name = json.load(f).get("checkpoint")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(name, str) or not re.fullmatch(r"checkpoints/step-\d+", name):
        return None
    return os.path.join(run, name)


def resume_candidates(run: str) -> List[str]:
    """The checkpoints a resume may start from, newest first: the one ``latest.json`` names,
    then every complete ``checkpoints/step-N`` by descending step."""
    named = _pointer_target(run, "latest")
    try:
        names = os.listdir(os.path.join(run, "checkpoints"))
    except OSError:
        names = []
    steps = [os.path.join(run, "checkpoints", n) for n in sorted((n for n in names if _STEP_DIR.match(n)), reverse=True)]
    out: List[str] = []
    for path in ([named] if named else []) + steps:
        if path not in out and _is_checkpoint(path):
            out.append(path)
    return out


def find_checkpoint(run: str, pointer: str = "latest") -> Optional[str]:
    """The checkpoint ``latest.json`` (or ``best.json``) names; for ``latest``, a missing pointer
    or one naming an incomplete directory falls back to the newest complete checkpoint."""
    if pointer == "best":
        return _pointer_target(run, pointer)
    candidates = resume_candidates(run)
    return candidates[0] if candidates else None


class RunDirectory:
    """Rank 0's writer of a run directory: checkpoints, pointers, ``metrics.jsonl``.

    ``mode``: ``resume`` (keep what is there), ``fresh`` (refuse a directory that already holds a
    run) or ``overwrite`` (clear the run files first).
    """

    def __init__(self, path: str, keep: int = 3, mode: str = "resume") -> None:
        self.path = os.path.abspath(path)
        self.keep = keep
        checkpoints = os.path.join(self.path, "checkpoints")
        try:
            os.makedirs(checkpoints, exist_ok=True)
            if not os.access(self.path, os.W_OK):
                raise PermissionError(f"no write permission on {self.path}")
        except OSError as e:
            raise RunDirectoryError(f"cannot write the run directory {self.path}: {e}; choose another --out") from None
        self.lock = _Lock(self.path)
        try:
            if mode == "fresh":
                found = [n for n in RUN_FILES if os.path.exists(os.path.join(self.path, n))]
                found += [f"checkpoints/{n}" for n in sorted(os.listdir(checkpoints))]
                if found:
                    raise RunDirectoryError(
                        f"--out {self.path} already holds a run ({', '.join(found[:3])}{', ...' if len(found) > 3 else ''}); "
                        "continue it with --resume, start over with --overwrite, or choose another --out"
                    )
            if mode == "overwrite":
                for name in RUN_FILES:
                    if os.path.exists(os.path.join(self.path, name)):
                        os.unlink(os.path.join(self.path, name))
                for name in os.listdir(checkpoints):
                    shutil.rmtree(os.path.join(checkpoints, name), ignore_errors=True)
            self._repair()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Gives up the lock; the directory stays as it is."""
        self.lock.release()

    def _repair(self) -> None:
        """Clears what a save killed part-way left: temporary directories and files, and a
        checkpoint moved aside whose replacement never landed (moved back)."""
        checkpoints = os.path.join(self.path, "checkpoints")
        for name in os.listdir(checkpoints):
            path = os.path.join(checkpoints, name)
            if re.search(r"\.tmp-[0-9a-f-]+$", name) and _abandoned(name):
                shutil.rmtree(path, ignore_errors=True)
            old = re.fullmatch(r"(step-\d+)\.old-(?:\d+-)?[0-9a-f]+", name)
            if old and _abandoned(name.replace(".old-", ".tmp-")):
                target = os.path.join(checkpoints, old.group(1))
                if _is_checkpoint(target):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    shutil.rmtree(target, ignore_errors=True)
                    os.rename(path, target)
        for name in os.listdir(self.path):
            if name.endswith(".tmp") and _TEMP.search(name) and _abandoned(name):
                os.unlink(os.path.join(self.path, name))

    def save(self, step: int, write: Callable[[str], None], best_val_loss: Optional[float], kind: str) -> str:
        """Writes checkpoint ``step``: ``write(directory)`` fills a temporary directory, which is
        flushed and renamed into place. Then ``latest.json`` (and ``best.json`` for kind
        ``best``) point at it, and old periodic checkpoints beyond ``keep`` are removed."""
        name = f"checkpoints/step-{step:06d}"
        target = os.path.join(self.path, name)
        temp = f"{target}.tmp-{_tag()}"
        os.makedirs(temp)
        try:
            write(temp)
            for file_name in os.listdir(temp):
                with open(os.path.join(temp, file_name), "rb+") as f:
                    os.fsync(f.fileno())
            _fsync_dir(temp)
            if os.path.exists(target):
                old = f"{target}.old-{_tag()}"
                os.rename(target, old)
                os.rename(temp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(temp, target)
            _fsync_dir(os.path.dirname(target))
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        pointer = json.dumps({"checkpoint": name, "step": step, "val_loss": best_val_loss}, separators=(",", ":"))
        write_file_atomic(os.path.join(self.path, "latest.json"), (pointer + "\n").encode())
        if kind == "best":
            write_file_atomic(os.path.join(self.path, "best.json"), (pointer + "\n").encode())
        self._prune()
        return target

    def _prune(self) -> None:
        keepers = {p for p in (_pointer_target(self.path, "latest"), _pointer_target(self.path, "best")) if p}
        checkpoints = os.path.join(self.path, "checkpoints")
        dirs = sorted(n for n in os.listdir(checkpoints) if _STEP_DIR.match(n))
        for name in dirs[: max(0, len(dirs) - self.keep)]:
            path = os.path.join(checkpoints, name)
            if path not in keepers:
                shutil.rmtree(path, ignore_errors=True)

    def log(self, record: Dict[str, object]) -> None:
        """Appends one line to ``metrics.jsonl`` (a NaN or Inf is written as null, as in JSON)."""
        record = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
        with open(os.path.join(self.path, "metrics.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")

    def truncate_metrics(self, step: int) -> int:
        """Cuts ``metrics.jsonl`` back to the lines of steps <= ``step`` (the checkpoint a resume
        starts from), and a line cut short by a kill, so no step appears twice. Returns how many
        lines were dropped."""
        path = os.path.join(self.path, "metrics.jsonl")
        try:
            with open(path, "r", encoding="utf-8") as f:
                lines = [line for line in f.read().split("\n") if line]
        except FileNotFoundError:
            return 0

        def keep(line: str) -> bool:
            try:
                s = json.loads(line).get("step")
            except (ValueError, AttributeError):
                return False
            return isinstance(s, (int, float)) and not isinstance(s, bool) and s <= step

        kept = [line for line in lines if keep(line)]
        if len(kept) != len(lines):
            write_file_atomic(path, "".join(line + "\n" for line in kept).encode())
        return len(lines) - len(kept)
