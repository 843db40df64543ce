"""A resumable checkpoint as both trainers write it: the model plus the trainer's state.

``checkpoints/step-N/`` holds, besides ``config.json`` and ``model.safetensors`` (primer_ez.py):

- ``tokenizer.json``, the run's tokenizer;
- ``trainer_state.json``: ``{"format": "primer-ez-trainer-state", "version": 1, "step", "rng"
  (the data position: the four words of the batch sampler's xoshiro128** generator),
  "bestValLoss", "tokensSeen", "elapsedMs", "options"}`` where ``options`` are the TypeScript
  ``TrainerOptions`` (camelCase: batchSize, seqLen, lr, optimizer, beta1, beta2, eps, weightDecay,
  schedule, warmup, minLrRatio, totalSteps, gradClip, accumulate, seed, evalWindows,
  evalBatchSize, nonFinite, maxSkips, workers). train.py adds ``"trainer"`` (who wrote it, on how many
  processes), which the TypeScript reader ignores;
- ``optimizer.safetensors``: AdamW's first and second moments as F32 ``m.<param>`` and
  ``v.<param>``, metadata ``{"format": "primer-ez-optimizer", "step": "<optimiser steps>"}``.
  NOTE: the moments are stored in @primer-ez/primer-layers' own layout, not PyTorch's: linear
  weights ``[in, out]`` (PyTorch ``[out, in]``) and dconv kernels ``[K, Cd]`` (PyTorch
  ``[Cd, 1, K]``); every other tensor as in ``model.safetensors``. This module converts.
"""

from __future__ import annotations

import json
import math
import os
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from primer_ez import (
    PrimerEZ,
    PrimerEZConfig,
    check_tensors,
    expected_tensor_shapes,
    read_safetensors,
    read_safetensors_metadata,
    save_checkpoint,
    write_safetensors,
)

__all__ = [
    "ResumeError", "layout", "ts_shape", "make_optimizer", "moments", "load_moments", "read_checkpoint",
    "write_checkpoint",
]


class ResumeError(ValueError):
    """A checkpoint cannot be resumed: a file is missing, damaged or belongs to another model."""


def layout(name: str) -> Optional[str]:
    """``linear`` or ``conv`` for a weight that primer-layers keeps transposed (params.ts)."""
    if name.endswith("_dconv.weight"):
        return "conv"
    if name.endswith(("_proj.weight", "ffn.up.weight", "ffn.down.weight")) or name == "lm_head.weight":
        return "linear"
    return None


def ts_shape(name: str, shape: Tuple[int, ...]) -> Tuple[int, ...]:
    """The shape of parameter ``name``'s moments in ``optimizer.safetensors``."""
    kind = layout(name)
    if kind == "linear":
        return (shape[1], shape[0])  # [out, in] -> [in, out]
    if kind == "conv":
        return (shape[2], shape[0])  # [Cd, 1, K] -> [K, Cd]
    return tuple(shape)


def _to_ts(name: str, t: torch.Tensor) -> torch.Tensor:
    kind = layout(name)
    if kind == "linear":
        return t.t().contiguous()
    if kind == "conv":
        return t.reshape(t.shape[0], t.shape[2]).t().contiguous()
    return t.contiguous()


def _from_ts(name: str, t: torch.Tensor) -> torch.Tensor:
    kind = layout(name)
    if kind == "linear":
        return t.t().contiguous()
    if kind == "conv":
        return t.t().reshape(t.shape[1], 1, t.shape[0]).contiguous()
    return t.contiguous()


def make_optimizer(model: PrimerEZ, o: Dict[str, object]) -> torch.optim.AdamW:
    """PyTorch's AdamW, which the TypeScript AdamW matches step for step; weight decay on
    matrices, embeddings and conv kernels only (``decay`` in params.ts), none for ``adam``."""
    decay = {
        f"{mname}.{pname}" if mname else pname: pname == "weight" and isinstance(m, (nn.Linear, nn.Embedding, nn.Conv1d))
        for mname, m in model.named_modules()
        for pname, _ in m.named_parameters(recurse=False)
    }
    named = list(model.named_parameters())
    wd = 0.0 if o["optimizer"] == "adam" else float(o["weightDecay"])  # type: ignore[arg-type]
    groups = [
        {"params": [p for n, p in named if decay[n]], "weight_decay": wd},
        {"params": [p for n, p in named if not decay[n]], "weight_decay": 0.0},
    ]
    betas = (float(o["beta1"]), float(o["beta2"]))  # type: ignore[arg-type]
    return torch.optim.AdamW(groups, lr=float(o["lr"]), betas=betas, eps=float(o["eps"]))  # type: ignore[arg-type]


def moments(model: PrimerEZ, opt: torch.optim.Optimizer) -> Dict[str, torch.Tensor]:
    """``m.<param>`` for every parameter, then ``v.<param>``: F32 on the CPU, TypeScript layout."""
    m: Dict[str, torch.Tensor] = {}
    v: Dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        s = opt.state.get(p, {})
        zero = torch.zeros_like(p)
        m[f"m.{name}"] = _to_ts(name, s.get("exp_avg", zero).detach().float().cpu())
        v[f"v.{name}"] = _to_ts(name, s.get("exp_avg_sq", zero).detach().float().cpu())
    return {**m, **v}


def load_moments(model: PrimerEZ, opt: torch.optim.Optimizer, saved: Dict[str, torch.Tensor], step: int) -> None:
    """Sets AdamW's moments (TypeScript layout, as :func:`moments` returns) and its step count."""
    check_moments(model.config, saved, "optimizer state")
    index = {id(p): i for i, p in enumerate(p for g in opt.param_groups for p in g["params"])}
    state: Dict[int, Dict[str, torch.Tensor]] = {}
    for name, p in model.named_parameters():
        state[index[id(p)]] = {
            "step": torch.tensor(float(step)),
            "exp_avg": _from_ts(name, saved[f"m.{name}"].float()).to(p.device),
            "exp_avg_sq": _from_ts(name, saved[f"v.{name}"].float()).to(p.device),
        }
    sd = opt.state_dict()
    sd["state"] = state
    opt.load_state_dict(sd)


def check_moments(cfg: PrimerEZConfig, saved: Dict[str, torch.Tensor], where: str) -> None:
    """Every ``m.``/``v.`` tensor present, none extra, each of its TypeScript-layout shape."""
    want = {f"{k}.{n}": ts_shape(n, s) for k in ("m", "v") for n, s in expected_tensor_shapes(cfg).items()}
    for name in sorted(set(want) | set(saved)):
        if name not in saved:
            raise ResumeError(f"{where}: missing '{name}'; the checkpoint is damaged")
        if name not in want:
            raise ResumeError(f"{where}: unexpected tensor '{name}'; it belongs to another model")
        if tuple(saved[name].shape) != want[name]:
            raise ResumeError(f"{where}: '{name}' has shape {list(saved[name].shape)}; the model needs {list(want[name])}")


def validate_state(s: object) -> Dict[str, object]:
    """``validateTrainerState`` (trainer.ts): each field checked and named when wrong."""
    if not isinstance(s, dict):
        raise ResumeError("trainer_state.json: not a JSON object; the checkpoint is damaged")
    if s.get("format") != "primer-ez-trainer-state" or s.get("version") != 1:
        raise ResumeError(
            f"trainer_state.json: format {s.get('format')!r} version {s.get('version')!r} is not a "
            "primer-ez trainer state (version 1)"
        )
    for field in ("step", "tokensSeen"):
        v = s.get(field)
        if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
            raise ResumeError(f"trainer_state.json: {field} = {v!r} is not an integer >= 0; the checkpoint is damaged")
    elapsed = s.get("elapsedMs")
    if not (isinstance(elapsed, (int, float)) and math.isfinite(elapsed) and elapsed >= 0):
        raise ResumeError(f"trainer_state.json: elapsedMs = {elapsed!r} is not a duration; the checkpoint is damaged")
    best = s.get("bestValLoss")
    if best is not None and not (isinstance(best, (int, float)) and math.isfinite(best)):
        raise ResumeError(f"trainer_state.json: bestValLoss = {best!r} is neither null nor a number")
    rng = s.get("rng")
    if not (isinstance(rng, list) and len(rng) == 4 and all(isinstance(x, int) and 0 <= x < 2**32 for x in rng)):
        raise ResumeError(f"trainer_state.json: rng = {rng!r} is not a generator state (4 unsigned 32-bit integers)")
    if not isinstance(s.get("options"), dict):
        raise ResumeError("trainer_state.json: options is not an object; the checkpoint is damaged")
    return s


def read_checkpoint(directory: str) -> Dict[str, object]:
    """Every file of a resumable checkpoint written by either trainer, each validated."""

    def need(name: str) -> str:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            raise ResumeError(f"{directory} has no {name}: it is not a resumable checkpoint")
        return path

    cfg = PrimerEZConfig.from_json_file(need("config.json"))
    weights = read_safetensors(need("model.safetensors"))
    check_tensors(cfg, weights)
    with open(need("trainer_state.json"), "r", encoding="utf-8") as f:
        try:
            state = validate_state(json.load(f))
        except json.JSONDecodeError as e:
            raise ResumeError(f"{directory}/trainer_state.json is not valid JSON ({e}); the checkpoint is damaged") from None
    opt_path = need("optimizer.safetensors")
    optimizer = read_safetensors(opt_path)
    check_moments(cfg, optimizer, opt_path)
    opt_step = read_safetensors_metadata(opt_path).get("step", str(state["step"]))
    if not opt_step.isdigit():
        raise ResumeError(f"{opt_path}: step {opt_step!r} is not an integer >= 0; the checkpoint is damaged")
    tok_path = os.path.join(directory, "tokenizer.json")
    tokenizer = None
    if os.path.isfile(tok_path):
        with open(tok_path, "r", encoding="utf-8") as f:
            tokenizer = f.read()
    return {
        "path": directory, "config": cfg.to_dict(), "weights": weights, "state": state,
        "optimizer": optimizer, "optimizer_step": int(opt_step), "tokenizer": tokenizer,
    }


def write_checkpoint(
    directory: str,
    model: PrimerEZ,
    tokenizer_json: str,
    state: Dict[str, object],
    moment_tensors: Dict[str, torch.Tensor],
    optimizer_step: int,
) -> None:
    """Writes the five files of a resumable checkpoint into ``directory`` (a fresh temporary
    directory that :class:`rundir.RunDirectory` renames into place)."""
    for name, p in model.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise ResumeError(
                f"parameter '{name}' holds NaN or Inf at step {state['step']}; refusing to save this state "
                "(the last checkpoint is left as it was)"
            )
    save_checkpoint(model, directory)
    with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(tokenizer_json)
    write_safetensors(
        os.path.join(directory, "optimizer.safetensors"),
        moment_tensors,
        {"format": "primer-ez-optimizer", "step": str(optimizer_step)},
    )
    with open(os.path.join(directory, "trainer_state.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(state, indent=2, allow_nan=False) + "\n")
