"""PyTorch reference implementation of Primer EZ (So et al. 2021, arXiv 2109.08668).

A decoder-only, pre-LayerNorm transformer language model whose checkpoints are the same files the
TypeScript packages read and write: a directory holding ``config.json`` and ``model.safetensors``.
A model trained in TypeScript loads here with :func:`load_checkpoint`, and a model saved here with
:func:`save_checkpoint` loads there, with no conversion step.

Only ``torch`` and the Python standard library are used (the safetensors reader and writer are
implemented here).

Architecture (``C`` = d_model, ``H`` = n_heads, ``D`` = C / H, ``F`` = d_ff, ``V`` = vocab_size)::

    x = embed(ids) + pos_embed(arange(T))              # positional "learned"
    x = embed(ids) * sqrt(C) + PE[:T]                   # positional "sinusoidal"
    for each block:
        x = x + attn(attn_norm(x))
        x = x + ffn(ffn_norm(x))
    logits = lm_head(final_norm(x))                     # or final_norm(x) @ embed.weight.T if tied

    attn(h): q, k, v = q_proj(h), k_proj(h), v_proj(h)
             (mdha) q, k, v = q_dconv(q), k_dconv(k), v_dconv(v)   # causal depthwise conv along T
             causal softmax(q k^T / sqrt(D)) v per head, then o_proj
    ffn(h):  down(act(up(h))), act = relu(x)**2 ("squared_relu") or relu(x) ("relu")

Primer EZ is ``attention="mdha"`` with ``ffn_activation="squared_relu"``; the vanilla baseline is
``attention="mha"`` with ``ffn_activation="relu"``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import math
import os
import re
import struct
import sys
import tempfile
import zlib
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "PrimerEZConfig",
    "PrimerEZ",
    "CheckpointError",
    "SafetensorsError",
    "expected_tensor_shapes",
    "sinusoidal_positions",
    "causal_dconv",
    "save_checkpoint",
    "load_checkpoint",
    "read_safetensors",
    "read_safetensors_metadata",
    "write_safetensors",
]

PathLike = Union[str, "os.PathLike[str]"]

MODEL_TYPE = "primer-ez"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"

FFN_ACTIVATIONS = ("squared_relu", "relu")
ATTENTIONS = ("mdha", "mha")
DCONVS = ("per_channel", "shared")
DCONV_INITS = ("smoothing", "uniform")
POSITIONALS = ("learned", "sinusoidal")


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


class ConfigError(ValueError):
    """A config.json value is missing, unknown, of the wrong type or out of range."""


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


@dataclass
class PrimerEZConfig:
    """The model's hyper-parameters, exactly the keys of ``config.json`` (snake_case).

    ``dconv_bias`` left as ``None`` resolves to ``True`` and ``dconv_init`` to ``"uniform"``
    (PyTorch's ``Conv1d`` default, U(±1/√K) for kernel and bias), for both variants: with them
    the per-channel MDHA reaches vanilla's loss in fewer steps than from the ``"smoothing"`` init
    (0.5 on the current position, 0.5/3 on each earlier tap, bias 0; per_channel's default
    before), as BENCHMARKS.md measures. A ``config.json`` without ``dconv_bias`` loads with the
    bias its weights hold (:func:`load_checkpoint`).
    """

    vocab_size: int
    d_model: int
    n_heads: int
    n_layers: int
    d_ff: int
    max_seq_len: int
    ffn_activation: str = "squared_relu"
    attention: str = "mdha"
    dconv: str = "per_channel"
    dconv_kernel: int = 3
    dconv_bias: Optional[bool] = None
    dconv_init: Optional[str] = None
    positional: str = "learned"
    norm_eps: float = 1e-5
    tie_embeddings: bool = False
    dropout: float = 0.0
    model_type: str = MODEL_TYPE

    REQUIRED = ("vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "max_seq_len")

    def __post_init__(self) -> None:
        if self.dconv_bias is None:
            self.dconv_bias = True
        if self.dconv_init is None:
            self.dconv_init = "uniform"
        self.validate()

    # -- validation ---------------------------------------------------------------------------

    def validate(self) -> None:
        """Raises :class:`ConfigError` naming the first bad key and its value."""

        def bad(key: str, why: str) -> ConfigError:
            return ConfigError(f"config: {key}={getattr(self, key)!r} {why}")

        if self.model_type != MODEL_TYPE:
            raise bad("model_type", f"is not {MODEL_TYPE!r}")
        for key in self.REQUIRED + ("dconv_kernel",):
            v = getattr(self, key)
            if not _is_int(v):
                raise bad(key, "must be an integer")
            if v < 1:
                raise bad(key, "must be >= 1")
        if self.d_model % self.n_heads != 0:
            raise bad("d_model", f"must be divisible by n_heads={self.n_heads}")
        for key, allowed in (
            ("ffn_activation", FFN_ACTIVATIONS),
            ("attention", ATTENTIONS),
            ("dconv", DCONVS),
            ("dconv_init", DCONV_INITS),
            ("positional", POSITIONALS),
        ):
            if getattr(self, key) not in allowed:
                raise bad(key, f"is not one of {', '.join(map(repr, allowed))}")
        for key in ("dconv_bias", "tie_embeddings"):
            if not isinstance(getattr(self, key), bool):
                raise bad(key, "must be a boolean")
        if not _is_number(self.norm_eps) or self.norm_eps <= 0:
            raise bad("norm_eps", "must be a positive number")
        if not _is_number(self.dropout) or not 0 <= self.dropout < 1:
            raise bad("dropout", "must be a number in [0, 1)")

    # -- derived sizes ------------------------------------------------------------------------

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def dconv_channels(self) -> int:
        """Channels of each dconv's kernel: C for ``"per_channel"``, D = C / H for ``"shared"``."""
        return self.d_model if self.dconv == "per_channel" else self.head_dim

    # -- config.json --------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> "PrimerEZConfig":
        if not isinstance(d, Mapping):
            raise ConfigError(f"config: expected a JSON object, got {type(d).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise ConfigError(f"config: unknown key {unknown[0]}={d[unknown[0]]!r}")
        missing = [k for k in cls.REQUIRED if k not in d]
        if missing:
            raise ConfigError(f"config: missing required key {missing[0]}")
        if "model_type" not in d:
            raise ConfigError("config: missing required key model_type")
        return cls(**d)  # type: ignore[arg-type]

    def to_dict(self) -> Dict[str, object]:
        d = dataclasses.asdict(self)
        out: Dict[str, object] = {"model_type": d.pop("model_type")}
        out.update(d)
        return out

    @classmethod
    def from_json_file(cls, path: PathLike) -> "PrimerEZConfig":
        with open(path, "r", encoding="utf-8") as f:
            try:
                d = json.load(f)
            except json.JSONDecodeError as e:
                raise ConfigError(f"config: {os.fspath(path)} is not valid JSON: {e}") from e
        return cls.from_dict(d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def expected_tensor_shapes(cfg: PrimerEZConfig) -> Dict[str, Tuple[int, ...]]:
    """Every tensor of a checkpoint for ``cfg``, in state-dict order, with its shape."""
    C, V, F_, K = cfg.d_model, cfg.vocab_size, cfg.d_ff, cfg.dconv_kernel
    Cd = cfg.dconv_channels
    shapes: Dict[str, Tuple[int, ...]] = {"embed.weight": (V, C)}
    if cfg.positional == "learned":
        shapes["pos_embed.weight"] = (cfg.max_seq_len, C)
    for i in range(cfg.n_layers):
        p = f"blocks.{i}."
        shapes[p + "attn_norm.weight"] = (C,)
        shapes[p + "attn_norm.bias"] = (C,)
        for n in ("q", "k", "v"):
            shapes[p + f"attn.{n}_proj.weight"] = (C, C)
            shapes[p + f"attn.{n}_proj.bias"] = (C,)
        if cfg.attention == "mdha":
            for n in ("q", "k", "v"):
                shapes[p + f"attn.{n}_dconv.weight"] = (Cd, 1, K)
                if cfg.dconv_bias:
                    shapes[p + f"attn.{n}_dconv.bias"] = (Cd,)
        shapes[p + "attn.o_proj.weight"] = (C, C)
        shapes[p + "attn.o_proj.bias"] = (C,)
        shapes[p + "ffn_norm.weight"] = (C,)
        shapes[p + "ffn_norm.bias"] = (C,)
        shapes[p + "ffn.up.weight"] = (F_, C)
        shapes[p + "ffn.up.bias"] = (F_,)
        shapes[p + "ffn.down.weight"] = (C, F_)
        shapes[p + "ffn.down.bias"] = (C,)
    shapes["final_norm.weight"] = (C,)
    shapes["final_norm.bias"] = (C,)
    if not cfg.tie_embeddings:
        shapes["lm_head.weight"] = (V, C)
        shapes["lm_head.bias"] = (V,)
    return shapes


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


def sinusoidal_positions(n: int, d_model: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``PE[pos, 2i] = sin(pos * exp(-2i ln(10000) / C))``, ``PE[pos, 2i+1] = cos(same)``, [n, C]."""
    pos = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    angle = pos * torch.exp(-two_i * math.log(10000.0) / d_model)
    pe = torch.zeros(n, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe.to(dtype)


def causal_dconv(x: torch.Tensor, conv: nn.Conv1d, n_heads: int, shared: bool) -> torch.Tensor:
    """Causal depthwise conv of ``x`` [B, T, C] along T with ``conv`` (padding 0), [B, T, C].

    Equivalent to ``nn.Conv1d(padding=K-1)`` with the last K-1 outputs dropped: K-1 zeros are
    added on the left, so tap K-1 multiplies the current position. ``shared``: ``conv`` has D =
    C / n_heads channels and is applied to every head (channel c uses kernel c mod D).
    """
    B, T, C = x.shape
    K = conv.kernel_size[0]
    if shared:
        D = C // n_heads
        y = x.reshape(B, T, n_heads, D).permute(0, 2, 3, 1).reshape(B * n_heads, D, T)
        y = conv(F.pad(y, (K - 1, 0)))
        return y.reshape(B, n_heads, D, T).permute(0, 3, 1, 2).reshape(B, T, C)
    y = conv(F.pad(x.transpose(1, 2), (K - 1, 0)))
    return y.transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, cfg: PrimerEZConfig) -> None:
        super().__init__()
        C = cfg.d_model
        self.n_heads = cfg.n_heads
        self.mdha = cfg.attention == "mdha"
        self.shared = cfg.dconv == "shared"
        self.q_proj = nn.Linear(C, C)
        self.k_proj = nn.Linear(C, C)
        self.v_proj = nn.Linear(C, C)
        if self.mdha:
            Cd, K = cfg.dconv_channels, cfg.dconv_kernel
            self.q_dconv = nn.Conv1d(Cd, Cd, K, groups=Cd, bias=bool(cfg.dconv_bias))
            self.k_dconv = nn.Conv1d(Cd, Cd, K, groups=Cd, bias=bool(cfg.dconv_bias))
            self.v_dconv = nn.Conv1d(Cd, Cd, K, groups=Cd, bias=bool(cfg.dconv_bias))
        self.o_proj = nn.Linear(C, C)
        self.attn_dropout = nn.Dropout(cfg.dropout)
        self.out_dropout = nn.Dropout(cfg.dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        B, T, C = h.shape
        H = self.n_heads
        D = C // H
        q, k, v = self.q_proj(h), self.k_proj(h), self.v_proj(h)
        if self.mdha:
            q = causal_dconv(q, self.q_dconv, H, self.shared)
            k = causal_dconv(k, self.k_dconv, H, self.shared)
            v = causal_dconv(v, self.v_dconv, H, self.shared)
        # [B, T, C] -> [B, H, T, D]; channel c is head c // D, dim c % D.
        q, k, v = (t.reshape(B, T, H, D).transpose(1, 2) for t in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
        future = torch.ones(T, T, dtype=torch.bool, device=h.device).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
        probs = self.attn_dropout(torch.softmax(scores, dim=-1))
        y = (probs @ v).transpose(1, 2).reshape(B, T, C)
        return self.out_dropout(self.o_proj(y))


class FeedForward(nn.Module):
    def __init__(self, cfg: PrimerEZConfig) -> None:
        super().__init__()
        self.squared = cfg.ffn_activation == "squared_relu"
        self.up = nn.Linear(cfg.d_model, cfg.d_ff)
        self.down = nn.Linear(cfg.d_ff, cfg.d_model)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.up(h))
        if self.squared:
            a = a * a
        return self.dropout(self.down(a))


class Block(nn.Module):
    def __init__(self, cfg: PrimerEZConfig) -> None:
        super().__init__()
        self.attn_norm = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.attn = Attention(cfg)
        self.ffn_norm = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.ffn = FeedForward(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x))
        return x + self.ffn(self.ffn_norm(x))


class PrimerEZ(nn.Module):
    """Primer EZ language model. ``model.state_dict()`` keys are the checkpoint's tensor names."""

    def __init__(self, cfg: PrimerEZConfig) -> None:
        super().__init__()
        cfg.validate()
        self.config = cfg
        C = cfg.d_model
        self.embed = nn.Embedding(cfg.vocab_size, C)
        if cfg.positional == "learned":
            self.pos_embed = nn.Embedding(cfg.max_seq_len, C)
        else:
            # Kept in float64 (until .float()/.half() is called) and cast in forward.
            self.register_buffer("pe", sinusoidal_positions(cfg.max_seq_len, C), persistent=False)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.final_norm = nn.LayerNorm(C, eps=cfg.norm_eps)
        if not cfg.tie_embeddings:
            self.lm_head = nn.Linear(C, cfg.vocab_size)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Default initialisation.

        Linear and embedding weights ~ N(0, 0.02), their biases 0; LayerNorm weight 1, bias 0.
        dconvs by ``config.dconv_init``: ``"uniform"``, PyTorch's Conv1d default init (the
        default); ``"smoothing"``, 0.5 on the current position (tap K-1) and 0.5/3 on every
        earlier tap, bias 0.
        """
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv1d):
                if self.config.dconv_init == "smoothing":
                    m.weight.fill_(0.5 / 3)
                    m.weight[:, :, -1] = 0.5
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                else:
                    m.reset_parameters()

    def _check_ids(self, ids: torch.Tensor, what: str = "ids") -> None:
        cfg = self.config
        if not isinstance(ids, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(ids).__name__}")
        if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
            raise TypeError(f"{what} must be an integer tensor, got {ids.dtype}")
        if ids.dim() != 2:
            raise ValueError(f"{what} must be [B, T], got shape {list(ids.shape)}")
        T = ids.shape[1]
        if T > cfg.max_seq_len:
            raise ValueError(f"{what}: sequence length T={T} exceeds max_seq_len={cfg.max_seq_len}")
        if ids.numel() > 0:
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= cfg.vocab_size:
                bad = lo if lo < 0 else hi
                raise ValueError(
                    f"{what}: token id {bad} outside [0, {cfg.vocab_size}) (vocab_size={cfg.vocab_size})"
                )

    def forward(self, ids: torch.Tensor, check_ids: bool = True) -> torch.Tensor:
        """``ids`` [B, T] integer tensor -> logits [B, T, V]. ``check_ids=False`` skips the range
        check (two device syncs), for a trainer that checked its data once."""
        if check_ids:
            self._check_ids(ids)
        T = ids.shape[1]
        cfg = self.config
        x = self.embed(ids)
        if cfg.positional == "learned":
            x = x + self.pos_embed(torch.arange(T, device=ids.device))
        else:
            x = x * math.sqrt(cfg.d_model) + self.pe[:T].to(x.dtype)
        for block in self.blocks:
            x = block(x)
        h = self.final_norm(x)
        if cfg.tie_embeddings:
            return h @ self.embed.weight.t()
        return self.lm_head(h)

    def loss(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the next-token logits over all B*T positions."""
        self._check_ids(targets, "targets")
        if targets.shape != ids.shape:
            raise ValueError(f"targets shape {list(targets.shape)} != ids shape {list(ids.shape)}")
        logits = self(ids)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long())

    @torch.no_grad()
    def generate(
        self,
        ids: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 0.0,
        generator: Optional[torch.Generator] = None,
    ) -> torch.Tensor:
        """Appends ``max_new_tokens`` tokens to ``ids`` [B, T]: greedy when ``temperature`` is 0,
        otherwise sampled from softmax(logits / temperature). The context is cropped to the last
        ``max_seq_len`` tokens (no KV cache)."""
        was_training = self.training
        self.eval()
        try:
            for _ in range(max_new_tokens):
                logits = self(ids[:, -self.config.max_seq_len :])[:, -1, :]
                if temperature <= 0:
                    nxt = logits.argmax(dim=-1, keepdim=True)
                else:
                    probs = torch.softmax(logits.double() / temperature, dim=-1)
                    nxt = torch.multinomial(probs, 1, generator=generator)
                ids = torch.cat([ids, nxt.to(ids.dtype)], dim=1)
        finally:
            self.train(was_training)
        return ids


# --------------------------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------------------------


class SafetensorsError(ValueError):
    """A safetensors file is malformed or holds something this reader cannot represent."""


_DTYPES: Dict[str, Tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
_DTYPE_NAMES = {dt: name for name, (dt, _) in _DTYPES.items()}


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().cpu().contiguous()
    n = t.numel() * t.element_size()
    if n == 0:
        return b""
    data = ctypes.string_at(t.data_ptr(), n)
    if sys.byteorder != "little" and t.element_size() > 1:
        raise SafetensorsError("big-endian hosts are not supported")
    return data


def write_safetensors(
    path: PathLike,
    tensors: Mapping[str, torch.Tensor],
    metadata: Optional[Mapping[str, str]] = None,
) -> None:
    """Writes ``tensors`` (in the mapping's order, contiguously) to ``path`` in safetensors format.

    The header is padded with spaces so the data section starts at a multiple of 8. Written
    directly to ``path``; :func:`save_checkpoint` adds the temp-file-and-rename.
    """
    header: Dict[str, object] = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise SafetensorsError(f"metadata must map str to str, got {k!r}: {v!r}")
        header["__metadata__"] = dict(metadata)
    chunks: List[bytes] = []
    offset = 0
    for name, t in tensors.items():
        if not isinstance(name, str) or name == "__metadata__" or not name:
            raise SafetensorsError(f"bad tensor name {name!r}")
        if not isinstance(t, torch.Tensor):
            raise SafetensorsError(f"{name}: not a tensor ({type(t).__name__})")
        if t.dtype not in _DTYPE_NAMES:
            raise SafetensorsError(f"{name}: unsupported dtype {t.dtype}")
        data = _tensor_bytes(t)
        header[name] = {
            "dtype": _DTYPE_NAMES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    if "__metadata__" in header and "crc32" in header["__metadata__"]:  # type: ignore[operator]
        raise SafetensorsError("metadata key 'crc32' is computed by the writer; do not pass it")
    # CRC-32 of the data section, as the TypeScript writer stores it (8 lowercase hex digits).
    crc = 0
    for c in chunks:
        crc = zlib.crc32(c, crc)
    header.setdefault("__metadata__", {})["crc32"] = f"{crc:08x}"  # type: ignore[index]
    hbytes = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hbytes += b" " * ((-len(hbytes)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for c in chunks:
            f.write(c)


def _read_header(buf: bytes, path: str) -> Tuple[Dict[str, object], int]:
    if len(buf) < 8:
        raise SafetensorsError(f"{path}: too short for a safetensors file ({len(buf)} bytes)")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > len(buf) - 8:
        raise SafetensorsError(f"{path}: header length {n} exceeds the file ({len(buf)} bytes)")
    try:
        header = json.loads(buf[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{path}: header is not valid UTF-8 JSON: {e}") from e
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    return header, 8 + n


def read_safetensors_metadata(path: PathLike) -> Dict[str, str]:
    """The ``__metadata__`` map of a safetensors file ({} when absent)."""
    with open(path, "rb") as f:
        buf = f.read()
    header, _ = _read_header(buf, os.fspath(path))
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict):
        raise SafetensorsError(f"{os.fspath(path)}: __metadata__ is not an object")
    return dict(meta)


def read_safetensors(path: PathLike, upcast: bool = True) -> Dict[str, torch.Tensor]:
    """Reads every tensor of a safetensors file, in header order.

    With ``upcast`` (the default) F16 and BF16 tensors are returned as float32; other dtypes
    keep theirs. Offsets are checked: in bounds, sized for dtype and shape, non-overlapping.
    """
    p = os.fspath(path)
    with open(path, "rb") as f:
        buf = f.read()
    header, start = _read_header(buf, p)
    data_len = len(buf) - start
    out: Dict[str, torch.Tensor] = {}
    spans: List[Tuple[int, int, str]] = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise SafetensorsError(f"{p}: {name}: entry is not an object")
        dtype_name, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype_name not in _DTYPES:
            raise SafetensorsError(f"{p}: {name}: unsupported dtype {dtype_name!r}")
        if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
            raise SafetensorsError(f"{p}: {name}: bad shape {shape!r}")
        if (
            not isinstance(offs, list)
            or len(offs) != 2
            or not all(_is_int(o) for o in offs)
            or not 0 <= offs[0] <= offs[1] <= data_len
        ):
            raise SafetensorsError(f"{p}: {name}: bad data_offsets {offs!r} (data is {data_len} bytes)")
        dtype, size = _DTYPES[dtype_name]
        numel = math.prod(shape)
        if offs[1] - offs[0] != numel * size:
            raise SafetensorsError(
                f"{p}: {name}: data_offsets {offs} hold {offs[1] - offs[0]} bytes, "
                f"but {dtype_name} {shape} needs {numel * size}"
            )
        spans.append((offs[0], offs[1], name))
        raw = bytearray(buf[start + offs[0] : start + offs[1]])
        if numel == 0:
            t = torch.empty(shape, dtype=dtype)
        elif dtype == torch.bfloat16:
            bits = torch.frombuffer(raw, dtype=torch.int16).to(torch.int32) << 16
            t = bits.view(torch.float32).reshape(shape)
            if not upcast:
                t = t.to(torch.bfloat16)
        elif dtype == torch.bool:
            t = torch.frombuffer(raw, dtype=torch.uint8).reshape(shape) != 0
        else:
            t = torch.frombuffer(raw, dtype=dtype).reshape(shape)
        if upcast and t.dtype == torch.float16:
            t = t.float()
        out[name] = t
    meta = header.get("__metadata__", {})
    if isinstance(meta, dict) and isinstance(meta.get("crc32"), str):
        actual = f"{zlib.crc32(buf[start:]):08x}"
        if actual != meta["crc32"]:
            raise SafetensorsError(
                f"{p}: data section CRC-32 {actual} does not match the stored {meta['crc32']}: the file is corrupted"
            )
    spans.sort()
    for (b0, e0, n0), (b1, _, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise SafetensorsError(f"{p}: tensors {n0} and {n1} overlap")
    return out


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------


class CheckpointError(ValueError):
    """A checkpoint's tensors do not match its config (missing, extra or misshapen)."""


def _atomic_write(path: str, write) -> None:
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(model: PrimerEZ, directory: PathLike, metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes ``config.json`` and ``model.safetensors`` (all F32) into ``directory``.

    Each file goes to a temp file in the same directory and is renamed over the target. Any
    other file already there (e.g. ``tokenizer.json``) is left alone.
    """
    d = os.fspath(directory)
    os.makedirs(d, exist_ok=True)
    cfg = model.config
    cfg.validate()
    state = model.state_dict()
    shapes = expected_tensor_shapes(cfg)
    if list(state) != list(shapes):
        raise CheckpointError(f"model state dict keys {list(state)} do not match the config's {list(shapes)}")
    tensors = {k: state[k].detach().to(torch.float32).cpu().contiguous() for k in shapes}
    # The config also travels inside the weights, so that the TypeScript loader can tell a
    # damaged config.json from a different model (it compares every key but dropout).
    meta = {"format": "pt", "model_type": "primer-ez", "config": json.dumps(cfg.to_dict(), separators=(",", ":"))}
    meta.update(metadata or {})

    def write_config(p: str) -> None:
        with open(p, "w", encoding="utf-8") as f:
            f.write(cfg.to_json())

    _atomic_write(os.path.join(d, WEIGHTS_FILE), lambda p: write_safetensors(p, tensors, meta))
    _atomic_write(os.path.join(d, CONFIG_FILE), write_config)


def check_tensors(cfg: PrimerEZConfig, tensors: Mapping[str, torch.Tensor]) -> None:
    """Raises :class:`CheckpointError` naming every missing, extra or misshapen tensor."""
    shapes = expected_tensor_shapes(cfg)
    problems: List[str] = []
    missing = [k for k in shapes if k not in tensors]
    extra = [k for k in tensors if k not in shapes]
    if missing:
        problems.append("missing tensor(s): " + ", ".join(missing))
    if extra:
        problems.append("unexpected tensor(s): " + ", ".join(extra))
    for k, shape in shapes.items():
        if k in tensors:
            t = tensors[k]
            if tuple(t.shape) != shape:
                problems.append(f"tensor {k} has shape {list(t.shape)}, config expects {list(shape)}")
            if not t.dtype.is_floating_point:
                problems.append(f"tensor {k} has non-float dtype {t.dtype}")
    if problems:
        raise CheckpointError("checkpoint does not match its config: " + "; ".join(problems))


def load_checkpoint(directory: PathLike, map_location: Union[str, torch.device] = "cpu") -> PrimerEZ:
    """Builds a :class:`PrimerEZ` from ``directory``'s ``config.json`` and ``model.safetensors``.

    F16 / BF16 tensors are upcast to float32. The model is float32, in eval mode.
    """
    d = os.fspath(directory)
    cfg = PrimerEZConfig.from_json_file(os.path.join(d, CONFIG_FILE))
    tensors = read_safetensors(os.path.join(d, WEIGHTS_FILE))
    with open(os.path.join(d, CONFIG_FILE), "r", encoding="utf-8") as f:
        if cfg.attention == "mdha" and "dconv_bias" not in json.load(f):
            # Written without the key (before it defaulted to true): the weights say.
            stored = any(re.search(r"\.attn\.[qkv]_dconv\.bias$", k) for k in tensors)
            cfg = dataclasses.replace(cfg, dconv_bias=stored)
    check_tensors(cfg, tensors)
    model = PrimerEZ(cfg)
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=True)
    return model.to(map_location).eval()
