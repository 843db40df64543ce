"""This process's place in a torchrun job, and how the job stops.

torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (and the rendezvous variables) in each
process it starts; without them the trainer runs as a single process and nothing here talks to
anyone. CPUs use gloo, GPUs nccl (one process per GPU, ``LOCAL_RANK`` picks it).

How a job ends when something goes wrong: a process that dies (killed, out of memory) closes
its connections, so the others' next collective fails at once (gloo) or within ``timeout``
(nccl, with async error handling on); they exit with a message naming the step, and torchrun
stops whatever is left and reports which rank failed and why. Nothing is saved then: the last
checkpoint stays what it was, and ``--resume`` continues from it. SIGINT or SIGTERM (Ctrl-C, or
torchrun passing on its own) instead stops every process after the current step, once all agree,
and rank 0 saves an ``interrupt`` checkpoint first.
"""

from __future__ import annotations

import datetime
import os
import signal
import threading
from typing import Dict, List, Optional

import torch
import torch.distributed as dist

__all__ = ["Group", "Interrupt", "cpu_threads"]


def cpu_threads(requested: Optional[int], env: Dict[str, str], cpus: int) -> Optional[int]:
    """Intra-op threads for one CPU process: ``--threads``, else none to set when
    ``OMP_NUM_THREADS`` is (torch reads it), else the ``cpus`` this process may run on shared
    by the processes on this machine (``LOCAL_WORLD_SIZE``). Debian's torch 1.13 otherwise
    starts with one thread on a 2-core machine (``omp_get_max_threads()`` is 1 there)."""
    if requested is not None:
        return requested
    if env.get("OMP_NUM_THREADS"):
        return None
    return max(1, cpus // max(1, int(env.get("LOCAL_WORLD_SIZE", "1"))))


class Group:
    """Rank, world size and device of this process; sums and broadcasts over the job."""

    def __init__(self, device: str, timeout_s: float, threads: Optional[int] = None) -> None:
        self.distributed = "WORLD_SIZE" in os.environ
        self.rank = int(os.environ.get("RANK", 0))
        self.world = int(os.environ.get("WORLD_SIZE", 1))
        self.local_rank = int(os.environ.get("LOCAL_RANK", 0))
        cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
        if cuda and not torch.cuda.is_available():
            raise RuntimeError("--device cuda: this PyTorch sees no GPU; use --device cpu")
        if cuda:
            torch.cuda.set_device(self.local_rank % torch.cuda.device_count())
            self.device = torch.device("cuda", torch.cuda.current_device())
        else:
            self.device = torch.device("cpu")
            n = cpu_threads(threads, dict(os.environ), len(os.sched_getaffinity(0)))
            if n is not None:
                torch.set_num_threads(n)
        if self.distributed:
            # NOTE: without async error handling a NCCL collective with a dead peer waits forever.
            os.environ.setdefault("NCCL_ASYNC_ERROR_HANDLING", "1")
            os.environ.setdefault("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")
            dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(seconds=timeout_s))

    def sum(self, values: List[float]) -> List[float]:
        """``values`` summed over every process (float64)."""
        if not self.distributed:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    def broadcast(self, obj: object) -> object:
        """Rank 0's ``obj`` (picklable), on every process."""
        if not self.distributed:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def broadcast_tensor(self, t: torch.Tensor) -> torch.Tensor:
        """Rank 0's ``t``; the others pass a tensor of the same shape to receive into."""
        t = t.float().to(self.device).contiguous()
        if self.distributed:
            dist.broadcast(t, src=0)
        return t

    def close(self, exit_code: int) -> None:
        """After a run that ended well: waits for every process, then leaves the group. NOTE: a
        watchdog ends this process with ``exit_code`` should leaving hang (seen once with gloo on
        PyTorch 1.13: a process spinning in teardown after its peer had exited)."""
        if not (self.distributed and dist.is_initialized()):
            return
        watchdog = threading.Timer(30, lambda: os._exit(exit_code))
        watchdog.daemon = True
        watchdog.start()
        dist.barrier()
        dist.destroy_process_group()
        watchdog.cancel()


class Interrupt:
    """Notes SIGINT / SIGTERM; every process stops after the step in which any of them saw one."""

    def __init__(self) -> None:
        self.signal = 0
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        # A second Ctrl-C quits at once, alone. NOTE: not under torchrun, which passes on the
        # Ctrl-C it gets itself (a second SIGINT right after the terminal's) and SIGKILLs its
        # processes 30 s later if they have not exited.
        if self.signal == signal.SIGINT and signum == signal.SIGINT and "WORLD_SIZE" not in os.environ:
            raise KeyboardInterrupt
        self.signal = self.signal or signum

    @property
    def exit_code(self) -> int:
        return 130 if self.signal == signal.SIGINT else 143
