"""The recipe of ``primer-ez train``, in Python: presets, flags, options and the schedule.

Everything here mirrors a TypeScript source, named at each definition; test/torchrun.test.ts
checks the presets and the default options against the TypeScript ones, so they cannot drift.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Dict, List

from primer_ez import PrimerEZConfig

# The presets of @primer-ez/primer-layers (config.ts); a test checks that they stay equal.
PRESETS: Dict[str, Dict[str, object]] = {
    "tiny": {"d_model": 32, "n_heads": 4, "n_layers": 2, "d_ff": 64, "max_seq_len": 32},
    "small": {"d_model": 128, "n_heads": 4, "n_layers": 4, "d_ff": 512, "max_seq_len": 128},
    "labml": {
        "d_model": 512, "n_heads": 8, "n_layers": 6, "d_ff": 2048, "max_seq_len": 256,
        "dropout": 0.1, "positional": "sinusoidal", "dconv": "shared",
    },
}
VANILLA = {"attention": "mha", "ffn_activation": "relu"}

# DEFAULT_TRAINER_OPTIONS of options.ts (packages/trainer): trainer_state.json's "options" has these keys and seqLen.
DEFAULT_OPTIONS: Dict[str, object] = {
    "batchSize": 32, "lr": 1e-3, "optimizer": "adamw", "beta1": 0.9, "beta2": 0.98, "eps": 1e-8,
    "weightDecay": 0.01, "schedule": "cosine", "warmup": 100, "minLrRatio": 0.1, "totalSteps": 2000,
    "gradClip": 1, "accumulate": 1, "seed": 0, "evalWindows": 64, "evalBatchSize": 16,
    "nonFinite": "stop", "maxSkips": 5, "workers": 1,
}
# The CLI's CONFIG_FLAGS (apps/cli/src/args.ts): --flag-name sets config key flag_name.
CONFIG_FLAGS: Dict[str, object] = {
    "vocab-size": int, "d-model": int, "n-heads": int, "n-layers": int, "d-ff": int, "max-seq-len": int,
    "ffn-activation": ["squared_relu", "relu"], "attention": ["mdha", "mha"], "dconv": ["per_channel", "shared"],
    "dconv-kernel": int, "dconv-bias": ["true", "false"], "dconv-init": ["smoothing", "uniform"],
    "positional": ["learned", "sinusoidal"], "norm-eps": float, "tie-embeddings": ["true", "false"],
    "dropout": float,
}


class TrainError(RuntimeError):
    """Training cannot start or go on; the message says why and what to do."""


class RankZeroFailed(TrainError):
    """Rank 0 could not start, and says why; the other processes stop quietly."""


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="train.py",
        description="Train Primer EZ with PyTorch DDP (launch with torchrun); writes primer-ez's run directory.",
    )
    a = p.add_argument
    a("--data", required=True, help="dataset directory of `primer-ez data prepare` (meta.json, train.bin, val.bin)")
    a("--out", help="run directory (default: runs/<arch>-<preset>-<time>)")
    a("--resume", action="store_true", help="continue the run in --out from its latest checkpoint, exactly")
    a("--overwrite", action="store_true", help="start over in an --out that already holds a run (deletes it)")
    a("--preset", choices=list(PRESETS), default="small", help="model size (default small)")
    a("--arch", choices=["primer-ez", "vanilla"], default="primer-ez", help="Primer EZ or the vanilla baseline")
    a("--config", help="JSON file of config keys (applied after the preset, before flags)")
    for flag, kind in CONFIG_FLAGS.items():
        key = flag.replace("-", "_")
        if isinstance(kind, list):
            a(f"--{flag}", choices=kind, help=f"config {key}")
        else:
            a(f"--{flag}", type=kind, help=f"config {key}")  # type: ignore[arg-type]
    a("--steps", type=int, default=2000, help="optimiser steps (the cosine schedule ends here; default 2000)")
    a("--max-minutes", type=float, help="stop (validate, save) after this much training time")
    a("--batch-size", type=int, default=32, help="windows per step in all, split over the processes (default 32)")
    a("--seq-len", type=int, help="window length (default: max_seq_len)")
    a("--lr", type=float, default=1e-3, help="peak learning rate (default 1e-3)")
    a("--warmup", type=int, default=100, help="linear warmup steps (default 100)")
    a("--schedule", choices=["cosine", "constant", "noam"], default="cosine", help="learning-rate schedule")
    a("--optimizer", choices=["adamw", "adam"], default="adamw", help="AdamW (decoupled weight decay) or Adam")
    a("--weight-decay", type=float, default=0.01, help="AdamW weight decay (matrices, embeddings, conv kernels)")
    a("--grad-clip", type=float, default=1.0, help="global gradient-norm clip (0: off; default 1)")
    a("--non-finite", choices=["stop", "skip"], default="stop", help="on a NaN/Inf loss or gradient (default stop)")
    a("--accumulate", type=int, default=1, help="micro-batches per step (gradient accumulation)")
    a("--seed", type=int, default=0, help="seeds the weights, the batches and dropout")
    a("--eval-every", type=int, default=100, help="validate every N steps (0: only at the end)")
    a("--eval-windows", type=int, default=64, help="validation windows scored at each evaluation")
    a("--checkpoint-every", type=int, default=500, help="save a periodic checkpoint every N steps")
    a("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: one GPU per process when there are GPUs")
    a("--threads", type=int, help="CPU threads per process (default: $OMP_NUM_THREADS, else this machine's CPUs / processes on it)")
    a("--timeout", type=float, default=300, help="seconds a process waits for the others before failing (default 300)")
    args = p.parse_args(argv)
    for name in ("steps", "batch_size", "accumulate", "eval_windows", "seq_len", "threads"):
        v = getattr(args, name)
        if v is not None and v < 1:
            p.error(f"--{name.replace('_', '-')} {v} must be a positive integer")
    for name in ("warmup", "seed", "eval_every", "checkpoint_every"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)} must be an integer >= 0")
    for name, ok in (("lr", args.lr > 0), ("weight_decay", args.weight_decay >= 0), ("grad_clip", args.grad_clip >= 0),
                     ("timeout", args.timeout > 0), ("max_minutes", args.max_minutes is None or args.max_minutes >= 0)):
        if not ok or not math.isfinite(getattr(args, name) or 0):
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)} is out of range")
    if args.resume and args.out is None:
        p.error("--resume needs --out RUN_DIR (the run to continue)")
    if args.resume and args.overwrite:
        p.error("--resume continues the run in --out and --overwrite deletes it: give one of them")
    return args


def model_config(args: argparse.Namespace, vocab_size: int) -> PrimerEZConfig:
    """The preset (vanilla for --arch vanilla), then --config's keys, then config flags."""
    d: Dict[str, object] = {"model_type": "primer-ez", "vocab_size": vocab_size, **PRESETS[args.preset]}
    if args.arch == "vanilla":
        d.update(VANILLA)
    if args.config:
        try:
            with open(args.config, "r", encoding="utf-8") as f:
                given = json.load(f)
        except (OSError, ValueError) as e:
            raise TrainError(f"--config {args.config}: {e}") from None
        if not isinstance(given, dict):
            raise TrainError(f"--config {args.config}: expected a JSON object of config keys")
        d.update(given)
    for flag in CONFIG_FLAGS:
        v = getattr(args, flag.replace("-", "_"))
        if v is not None:
            d[flag.replace("-", "_")] = {"true": True, "false": False}.get(v, v) if isinstance(v, str) else v
    try:
        cfg = PrimerEZConfig.from_dict(d)
    except (ValueError, TypeError) as e:
        raise TrainError(f"train: {e}") from None
    if cfg.vocab_size < vocab_size:
        raise TrainError(f"train: --vocab-size {cfg.vocab_size} is smaller than the data's {vocab_size} tokens")
    return cfg


def trainer_options(args: argparse.Namespace, cfg: PrimerEZConfig) -> Dict[str, object]:
    return {
        **DEFAULT_OPTIONS, "batchSize": args.batch_size, "seqLen": args.seq_len or cfg.max_seq_len, "lr": args.lr,
        "optimizer": args.optimizer, "weightDecay": args.weight_decay, "schedule": args.schedule,
        "warmup": args.warmup, "totalSteps": args.steps, "gradClip": args.grad_clip, "accumulate": args.accumulate,
        "seed": args.seed, "evalWindows": args.eval_windows, "nonFinite": args.non_finite,
    }


def learning_rate(o: Dict[str, object], d_model: int, step: int) -> float:
    """``learningRate`` of packages/trainer/src/schedule.ts at ``step`` (counted from 1)."""
    lr, warmup = float(o["lr"]), int(o["warmup"])  # type: ignore[arg-type]
    if o["schedule"] == "noam":
        return lr * d_model**-0.5 * min(step**-0.5, step * max(1, warmup) ** -1.5)
    if step < warmup:
        return lr * step / warmup
    if o["schedule"] == "constant":
        return lr
    total, ratio = int(o["totalSteps"]), float(o["minLrRatio"])  # type: ignore[arg-type]
    progress = min(1.0, max(0.0, (step - warmup) / max(1, total - warmup)))
    return lr * (ratio + (1 - ratio) * (1 + math.cos(math.pi * progress)) / 2)
