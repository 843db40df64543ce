"""The run directory of ``primer-ez train``, written from Python (``packages/trainer/src/node.ts``).

::

    RUN/
      metrics.jsonl               one JSON object per line: step, loss | val_loss, lr, ...
      latest.json                 {"checkpoint": "checkpoints/step-000500", "step": 500, "val_loss": ...}
      best.json                   the same, for the best validation loss so far
      checkpoints/step-000500/    config.json, model.safetensors, tokenizer.json,
                                  trainer_state.json, optimizer.safetensors

A checkpoint directory is written under ``step-N.tmp-<hex>``, every file flushed, then renamed
into place (a checkpoint it replaces is moved aside to ``step-N.old-<hex>`` first); pointer files
are written to ``<name>.<12 hex>.tmp`` and renamed over. A save killed at any moment leaves what
was saved before intact, and :meth:`RunDirectory.open` (like the TypeScript one) clears what it
left behind. Only one process (rank 0) writes.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import secrets
from typing import Callable, Dict, Optional

__all__ = ["RunDirectory", "RunDirectoryError", "find_checkpoint", "CHECKPOINT_FILES"]

CHECKPOINT_FILES = ("config.json", "model.safetensors", "trainer_state.json", "optimizer.safetensors")
_STEP_DIR = re.compile(r"^step-\d+$")


class RunDirectoryError(OSError):
    """The run directory cannot be written or read as asked."""


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


def write_file_atomic(path: str, data: bytes) -> None:
    """``writeFileAtomic``: ``path.<12 hex>.tmp``, flushed, renamed over ``path``."""
    temp = f"{path}.{secrets.token_hex(6)}.tmp"
    try:
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


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


def find_checkpoint(run: str, pointer: str = "latest") -> Optional[str]:
    """The checkpoint ``latest.json`` (or ``best.json``) names; for ``latest``, a missing pointer
    or one naming an incomplete directory falls back to the newest complete checkpoint."""
    named = _pointer_target(run, pointer)
    if pointer == "best" or (named is not None and _is_checkpoint(named)):
        return named
    try:
        names = os.listdir(os.path.join(run, "checkpoints"))
    except OSError:
        return None
    for name in sorted((n for n in names if _STEP_DIR.match(n)), reverse=True):
        path = os.path.join(run, "checkpoints", name)
        if _is_checkpoint(path):
            return path
    return None


class RunDirectory:
    """Rank 0's writer of a run directory: checkpoints, pointers, ``metrics.jsonl``."""

    def __init__(self, path: str, keep: int = 3) -> None:
        self.path = os.path.abspath(path)
        self.keep = keep
        checkpoints = os.path.join(self.path, "checkpoints")
        try:
            os.makedirs(checkpoints, exist_ok=True)
            if not os.access(self.path, os.W_OK):
                raise PermissionError(f"no write permission on {self.path}")
        except OSError as e:
            raise RunDirectoryError(f"cannot write the run directory {self.path}: {e}; choose another --out") from None
        self._repair()

    def _repair(self) -> None:
        """Clears what a save killed part-way left: temporary directories and files, and a
        checkpoint moved aside whose replacement never landed (moved back)."""
        checkpoints = os.path.join(self.path, "checkpoints")
        for name in os.listdir(checkpoints):
            path = os.path.join(checkpoints, name)
            if re.search(r"\.tmp-[0-9a-f]+$", name):
                shutil.rmtree(path, ignore_errors=True)
            old = re.fullmatch(r"(step-\d+)\.old-[0-9a-f]+", name)
            if old:
                target = os.path.join(checkpoints, old.group(1))
                if _is_checkpoint(target):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    shutil.rmtree(target, ignore_errors=True)
                    os.rename(path, target)
        for name in os.listdir(self.path):
            if re.search(r"\.[0-9a-f]{12}\.tmp$", name):
                os.unlink(os.path.join(self.path, name))

    def save(self, step: int, write: Callable[[str], None], best_val_loss: Optional[float], kind: str) -> str:
        """Writes checkpoint ``step``: ``write(directory)`` fills a temporary directory, which is
        flushed and renamed into place. Then ``latest.json`` (and ``best.json`` for kind
        ``best``) point at it, and old periodic checkpoints beyond ``keep`` are removed."""
        name = f"checkpoints/step-{step:06d}"
        target = os.path.join(self.path, name)
        temp = f"{target}.tmp-{secrets.token_hex(4)}"
        os.makedirs(temp)
        try:
            write(temp)
            for file_name in os.listdir(temp):
                with open(os.path.join(temp, file_name), "rb+") as f:
                    os.fsync(f.fileno())
            _fsync_dir(temp)
            if os.path.exists(target):
                old = f"{target}.old-{secrets.token_hex(4)}"
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
