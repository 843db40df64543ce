"""Train Primer EZ with PyTorch DDP, writing the same run directory as ``primer-ez train``.

One machine, N processes (CPU: gloo; GPUs: nccl, one process per GPU)::

    torchrun --standalone --nproc_per_node N train.py --data DIR --out RUN [flags]

Several machines: the same command on each, with torchrun's rendezvous flags instead of
``--standalone`` (see README.md). ``python3 train.py ...`` without torchrun trains in one process.

The recipe, flags and defaults are those of ``primer-ez train`` (packages/trainer): AdamW with
decoupled weight decay on matrices, embeddings and conv kernels only, betas (0.9, 0.98), eps 1e-8,
global-norm clip 1, 100 warmup steps then cosine to 0.1x, batch 32 windows of max_seq_len.
``--batch-size`` is the global batch: every process draws the whole batch's windows, in the
order the TypeScript trainer draws them (tokens.py), and trains on its ``1/N`` share; DDP averages
the gradients. Rank 0 alone writes the run directory (rundir.py, trainer_state.py), and
``--resume`` continues a run exactly, whichever trainer wrote it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import faulthandler
import json
import math
import os
import signal
import sys
import time
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from distributed import Group, Interrupt
from primer_ez import PrimerEZ, PrimerEZConfig
from recipe import (  # noqa: F401 (PRESETS, DEFAULT_OPTIONS: for tests and readers of train.py)
    DEFAULT_OPTIONS,
    PRESETS,
    RankZeroFailed,
    TrainError,
    learning_rate,
    model_config,
    parse_args,
    trainer_options,
)
from rundir import RunDirectory, RunDirectoryError, find_checkpoint, release_locks, resume_candidates
from tokens import DataError, Rng, TokenData, sample_starts, window_starts, windows
from trainer_state import ResumeError, load_moments, make_optimizer, moments, read_checkpoint, ts_shape, write_checkpoint


class Run:
    """One training run on this process: model, optimiser, data position, counters."""

    def __init__(self, args: argparse.Namespace, group: Group, interrupt: Interrupt) -> None:
        self.args, self.group, self.interrupt = args, group, interrupt
        self.data = TokenData(args.data)
        out = args.out or os.path.join(
            "runs", f"{args.arch}-{args.preset}-{datetime.datetime.now().strftime('%Y-%m-%dT%H-%M-%S')}"
        )
        self.out = os.path.abspath(out)
        self.run_dir = self._open_run_dir(out)
        with open(self.data.tokenizer_path, "r", encoding="utf-8") as f:
            self.tokenizer_json = f.read()
        snapshot = self._read_resume() if args.resume else None
        if snapshot is not None:
            self.cfg = PrimerEZConfig.from_dict(snapshot["config"])  # type: ignore[arg-type]
            state: Dict[str, object] = snapshot["state"]  # type: ignore[assignment]
            options: Dict[str, object] = state["options"]  # type: ignore[assignment]
            self.o = {**DEFAULT_OPTIONS, "seqLen": self.cfg.max_seq_len, **options, "totalSteps": args.steps}
        else:
            self.cfg = model_config(args, self.data.vocab_size)
            self.o = trainer_options(args, self.cfg)
        self.seq_len, self.batch, self.accumulate = (int(self.o[k]) for k in ("seqLen", "batchSize", "accumulate"))  # type: ignore[call-overload]
        self._check_sizes()

        torch.manual_seed(int(self.o["seed"]))  # type: ignore[call-overload]
        self.model = PrimerEZ(self.cfg)
        if snapshot is not None and group.rank == 0:
            self.model.load_state_dict({k: v.float() for k, v in snapshot["weights"].items()}, strict=True)  # type: ignore[union-attr]
        self.model.to(group.device).train()
        self.opt = make_optimizer(self.model, self.o)
        self.rng = Rng(int(self.o["seed"]))  # type: ignore[call-overload]
        self.step = self.opt_step = self.tokens_seen = 0
        self.best, self.elapsed_ms = math.inf, 0.0
        if snapshot is not None:
            self._restore(snapshot)
            if self.run_dir is not None:  # steps after the checkpoint are trained again: no line twice
                dropped = self.run_dir.truncate_metrics(self.step)
                if dropped:
                    self.log(f"metrics.jsonl: dropped {dropped} line(s) of steps after {self.step}")
        # DDP starts by copying rank 0's weights to every process.
        self.ddp: nn.Module = (
            nn.parallel.DistributedDataParallel(
                self.model, device_ids=[group.device.index] if group.device.type == "cuda" else None
            )
            if group.distributed
            else self.model
        )
        self.saved_step = -1

    def _open_run_dir(self, out: str) -> Optional[RunDirectory]:
        """Rank 0 takes the run directory (its lock); every process hears whether it could."""
        run_dir, error = None, None
        if self.group.rank == 0:
            mode = "resume" if self.args.resume else "overwrite" if self.args.overwrite else "fresh"
            try:
                run_dir = RunDirectory(out, mode=mode)
            except RunDirectoryError as e:
                error = str(e)
        error = self.group.broadcast(error)  # type: ignore[assignment]
        if error is not None:
            raise TrainError(error) if self.group.rank == 0 else RankZeroFailed(error)
        return run_dir

    def _read_resume(self) -> Dict[str, object]:
        """Rank 0 reads and checks the latest checkpoint; every process gets all but the tensors."""
        head: Dict[str, object] = {}
        snapshot: Dict[str, object] = {}
        if self.group.rank == 0:
            # The newest checkpoint that reads whole; a damaged one is named and passed over.
            problems: List[str] = []
            for candidate in resume_candidates(self.out):
                try:
                    snapshot = read_checkpoint(candidate)
                    break
                except (ValueError, OSError) as e:
                    problems.append(f"{candidate}: {e}")
                    self.log(f"--resume: skipping {candidate}: {e}")
            if snapshot:
                head = {k: v for k, v in snapshot.items() if k not in ("weights", "optimizer")}
            elif problems:
                head = {"error": f"--resume: no checkpoint in {self.out} could be read ({'; '.join(problems)})"}
            else:
                head = {"error": f"--resume: {self.out} has no checkpoint; there is no run to continue there"}
        head = self.group.broadcast(head)  # type: ignore[assignment]
        if "error" in head:
            raise TrainError(str(head["error"])) if self.group.rank == 0 else RankZeroFailed(str(head["error"]))
        tokenizer = head["tokenizer"]
        if tokenizer is not None and json.loads(tokenizer) != json.loads(self.tokenizer_json):  # type: ignore[arg-type]
            raise TrainError(
                f"--resume: the run's tokenizer.json differs from {self.data.tokenizer_path}; prepare --data with the run's "
                f"tokenizer (primer-ez data prepare --tokenizer-file {head['path']}/tokenizer.json)"
            )
        if tokenizer is not None:
            self.tokenizer_json = tokenizer  # type: ignore[assignment]
        self.log(f"resuming {head['path']} at step {head['state']['step']}")  # type: ignore[index]
        return {**head, **snapshot}

    def _restore(self, snapshot: Dict[str, object]) -> None:
        saved: Dict[str, torch.Tensor] = snapshot.get("optimizer", {})  # type: ignore[assignment]
        received: Dict[str, torch.Tensor] = {}
        for name, p in self.model.named_parameters():  # rank 0 read them; the others receive them
            for key in (f"m.{name}", f"v.{name}"):
                received[key] = self.group.broadcast_tensor(saved.get(key, torch.zeros(ts_shape(name, tuple(p.shape)))))
        load_moments(self.model, self.opt, received, int(snapshot["optimizer_step"]))  # type: ignore[call-overload]
        state: Dict[str, object] = snapshot["state"]  # type: ignore[assignment]
        self.step, self.opt_step = int(state["step"]), int(snapshot["optimizer_step"])  # type: ignore[call-overload]
        self.rng.restore(state["rng"])  # type: ignore[arg-type]
        self.best = math.inf if state.get("bestValLoss") is None else float(state["bestValLoss"])  # type: ignore[arg-type]
        self.tokens_seen, self.elapsed_ms = int(state["tokensSeen"]), float(state["elapsedMs"])  # type: ignore[call-overload, arg-type]

    def _check_sizes(self) -> None:
        if self.seq_len > self.cfg.max_seq_len:
            raise TrainError(f"--seq-len {self.seq_len} exceeds the model's max_seq_len {self.cfg.max_seq_len}")
        world = self.group.world
        if self.batch % world != 0:
            raise TrainError(
                f"--batch-size {self.batch} (the global batch) is not a multiple of the {world} processes; "
                f"use --batch-size {max(1, round(self.batch / world)) * world} or another process count"
            )
        for name, tokens in (("train.bin", self.data.train), ("val.bin", self.data.validation)):
            if len(tokens) < self.seq_len + 1:
                raise DataError(
                    f"--data {self.args.data}: {name} has {len(tokens)} tokens, fewer than one window of "
                    f"seq-len + 1 = {self.seq_len + 1}; use more text or a shorter --seq-len"
                )
        self.data.check_vocab(self.cfg.vocab_size)

    def log(self, message: str) -> None:
        if self.group.rank == 0:
            print(message, file=sys.stderr, flush=True)

    def train_step(self) -> Dict[str, object]:
        """One optimiser step on the global batch; returns its metrics line (and the stop vote)."""
        g, o = self.group, self.o
        lr = learning_rate(o, self.cfg.d_model, self.step + 1)
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        share = self.batch // g.world
        loss_sum = torch.zeros((), device=g.device)
        for micro in range(self.accumulate):
            starts = sample_starts(self.rng, len(self.data.train), self.batch, self.seq_len)
            w = torch.from_numpy(windows(self.data.train, starts[g.rank * share : (g.rank + 1) * share], self.seq_len))
            w = w.to(g.device)
            # Dropout is seeded per step, micro-batch and share (dropoutSeed in step.ts), so a resumed
            # run draws the same masks (torch's, not tfjs's: the two generators differ).
            seed = int(o["seed"]) * 1_000_003 + (self.step + 1) * 131 + micro + g.rank * 2_654_435_761  # type: ignore[call-overload]
            torch.manual_seed(seed % 2**31)
            last = micro == self.accumulate - 1
            with self.ddp.no_sync() if g.distributed and not last else contextlib.nullcontext():  # type: ignore[operator]
                logits = self.ddp(w[:, :-1], check_ids=False)  # [B/N, T, V]
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1))
                (loss / self.accumulate).backward()
            loss_sum += loss.detach()
        clip = float(o["gradClip"])  # type: ignore[arg-type]
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip if clip > 0 else math.inf)
        # One collective per step: the mean loss, the (already equal) norm and the stop vote.
        loss_value, norm_value, stop = g.sum(
            [float(loss_sum) / self.accumulate / g.world, float(norm) / g.world, float(self.interrupt.signal)]
        )
        record: Dict[str, object] = {"step": self.step + 1, "loss": loss_value, "lr": lr, "grad_norm": norm_value}
        if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
            what = (
                f"training loss became {loss_value} at step {self.step + 1} (gradient norm {norm_value}, "
                f"learning rate {lr:.2e}); nothing was updated"
            )
            if o["nonFinite"] != "skip" or self.skips >= int(o["maxSkips"]):  # type: ignore[call-overload]
                raise TrainError(f"{what}. Lower the learning rate, keep gradient clipping on, or resume from the last checkpoint.")
            self.skips += 1
            record["skipped"] = True
        else:
            self.opt.step()
            self.opt_step += 1
            self.skips = 0
            self.tokens_seen += self.batch * self.seq_len * self.accumulate
        self.step += 1
        record["stop"] = stop > 0
        return record

    def validate(self) -> Dict[str, float]:
        """``evaluate`` of evaluate.ts on the fixed validation windows, split over the processes."""
        o, g = self.o, self.group
        batch = int(o["evalBatchSize"])  # type: ignore[call-overload]
        starts = window_starts(len(self.data.validation), self.seq_len, int(o["evalWindows"]))  # type: ignore[call-overload]
        total = 0.0
        self.model.eval()
        with torch.no_grad():
            mine = starts[g.rank :: g.world]
            for i in range(0, len(mine), batch):
                w = torch.from_numpy(windows(self.data.validation, mine[i : i + batch], self.seq_len)).to(g.device)
                logits = self.model(w[:, :-1], check_ids=False)
                total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1), reduction="sum"))
        self.model.train()
        loss = g.sum([total])[0] / (len(starts) * self.seq_len)
        return {"loss": loss, "perplexity": math.exp(loss), "bits": loss / math.log(2)}

    def save(self, kind: str) -> None:
        """Rank 0 writes a checkpoint (one per step: a later kind of the same step is skipped)."""
        if self.saved_step == self.step and kind != "best":
            return
        self.saved_step = self.step
        if self.run_dir is None:
            return
        state = {
            "format": "primer-ez-trainer-state", "version": 1, "step": self.step, "rng": self.rng.state,
            "bestValLoss": self.best if math.isfinite(self.best) else None, "tokensSeen": self.tokens_seen,
            "elapsedMs": self.elapsed_ms, "options": self.o,
            "trainer": {"name": "interop/pytorch/train.py", "processes": self.group.world, "torch": torch.__version__},
        }
        tensors = moments(self.model, self.opt)
        location = self.run_dir.save(
            self.step,
            lambda d: write_checkpoint(d, self.model, self.tokenizer_json, state, tensors, self.opt_step),
            state["bestValLoss"],  # type: ignore[arg-type]
            kind,
        )
        self.log(f"saved {kind} checkpoint: {os.path.relpath(location)}")

    def _threads(self) -> str:
        if self.group.device.type != "cpu":
            return ""
        n = torch.get_num_threads()
        return f" ({n} thread{'s' if n != 1 else ''} each)"

    def train(self) -> int:
        """Trains to --steps (or --max-minutes): validates, logs, saves as ``Trainer.run`` does."""
        args, total = self.args, self.args.steps
        if self.step == 0:
            n = sum(p.numel() for p in self.model.parameters())
            cfg = self.cfg
            self.log(
                f"model: {args.arch} {args.preset}, {n:,} parameters (d_model {cfg.d_model}, {cfg.n_heads} heads, "
                f"{cfg.n_layers} layers, {'MDHA ' + cfg.dconv if cfg.attention == 'mdha' else 'MHA'}, "
                f"{cfg.ffn_activation})\ndata: {args.data}; {cfg.vocab_size} tokens; {len(self.data.train):,} train / "
                f"{len(self.data.validation):,} validation tokens"
            )
        self.log(
            f"run directory: {self.out}\nprocesses: {self.group.world} x {self.group.device.type}"
            f"{self._threads()}, "
            f"{self.batch // self.group.world} of every {self.batch} windows of {self.seq_len} tokens each"
        )
        max_ms = math.inf if args.max_minutes is None else args.max_minutes * 60_000
        started = time.perf_counter() - self.elapsed_ms / 1000
        first, recent_ms, printed, reason = self.step, 0.0, 0.0, "finished"
        final: Optional[Dict[str, float]] = None
        self.skips = 0
        while self.step < total:
            t0 = time.perf_counter()
            record = self.train_step()
            ms = (time.perf_counter() - t0) * 1000
            recent_ms = ms if self.step == first + 1 else 0.9 * recent_ms + 0.1 * ms
            self.elapsed_ms = (time.perf_counter() - started) * 1000
            stop = record.pop("stop")
            record["tokens_per_s"] = round(self.batch * self.seq_len * self.accumulate / max(recent_ms / 1000, 1e-9))
            record["elapsed_s"] = self.elapsed_ms / 1000
            if self.run_dir is not None:
                self.run_dir.log(record)
            if time.perf_counter() - printed > 10 or self.step in (first + 1, total):
                printed = time.perf_counter()
                self.log(
                    f"step {self.step}/{total}: loss {record['loss']:.4f}, lr {record['lr']:.2e}, "
                    f"{record['tokens_per_s']:,} tokens/s{' (skipped: not finite)' if record.get('skipped') else ''}"
                )
            out_of_time = self.elapsed_ms >= max_ms
            last = self.step == total or out_of_time
            if (args.eval_every > 0 and self.step % args.eval_every == 0) or last:
                final = self.validate()
                best = final["loss"] < self.best
                if best:
                    self.best = final["loss"]
                if self.run_dir is not None:
                    self.run_dir.log({
                        "step": self.step, "val_loss": final["loss"], "val_perplexity": final["perplexity"],
                        "val_bits_per_token": final["bits"],
                    })
                self.log(
                    f"step {self.step}: validation loss {final['loss']:.4f} (perplexity {final['perplexity']:.2f}, "
                    f"{final['bits']:.3f} bits/token){' — best so far' if best else ''}"
                )
                if best:
                    self.save("best")
            if last:
                self.save("final")
            elif args.checkpoint_every > 0 and self.step % args.checkpoint_every == 0:
                self.save("periodic")
            if out_of_time:
                reason = "time"
                break
            if stop and self.step < total:
                self.save("interrupt")
                reason = "aborted"
                break
        why = {"time": " (time budget reached)", "aborted": " (interrupted)"}.get(reason, "")
        self.log(f"done at step {self.step}{why} after {self.elapsed_ms / 1000:.1f}s")
        if self.run_dir is not None and final is not None:
            print(
                f"validation loss {final['loss']:.4f} nats/token ({final['bits']:.3f} bits/token) at step {self.step}; "
                f"checkpoint: {find_checkpoint(self.out) or self.out}",
                flush=True,
            )
        if self.run_dir is not None:
            self.run_dir.close()
        return self.interrupt.exit_code if reason == "aborted" else 0


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # `kill -USR1 PID` prints where a process is (e.g. one waiting for a peer) without stopping it.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    rank = int(os.environ.get("RANK", 0))
    who = "train.py" if rank == 0 else f"train.py (rank {rank})"
    interrupt = Interrupt()
    step: Optional[int] = None
    try:
        group = Group(args.device, args.timeout, args.threads)
        run = Run(args, group, interrupt)
        step = run.step
        try:
            code = run.train()
        finally:
            step = run.step
        group.close(code)
        return code
    except RankZeroFailed:
        return 1
    except (TrainError, DataError, ResumeError) as e:
        print(f"{who}: {e}", file=sys.stderr, flush=True)
        return 1
    except (RuntimeError, OSError, ValueError) as e:
        # A collective failed (another process died or cannot be reached) or a file could not be written.
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        where = "while starting" if step is None else f"at step {step + 1}"
        print(
            f"{who}: stopped {where}: {first}. If another process of the job died, torchrun's report "
            "below names it. The last checkpoint is intact: rerun the same command with --resume to continue.",
            file=sys.stderr,
            flush=True,
        )
        return 1
    except KeyboardInterrupt:
        print(f"{who}: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    code = main()
    if code != 0 and "WORLD_SIZE" in os.environ:
        # NOTE: skip the interpreter's teardown, which can wait on a dead peer's process group.
        release_locks()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
