"""The token data both trainers read, and the random windows they draw from it.

A dataset directory written by ``primer-ez data prepare``::

    DIR/meta.json       {"format": "primer-ez-tokens", "version": 1, "dtype": "uint16" | "uint32",
                         "vocab_size": V, "train_tokens": n, "val_tokens": m, ...,
                         "tokenizer": "tokenizer.json"}
    DIR/train.bin       n little-endian token ids (memory-mapped, never read whole)
    DIR/val.bin         m token ids
    DIR/tokenizer.json  the tokenizer that made them (copied into every checkpoint)

Training windows are drawn exactly as the TypeScript trainer draws them (``packages/trainer/src/
data.ts`` and ``rng.ts``): ``batch_size`` start positions per micro-batch, each
``Rng.int(len(train) - seq_len)``, from a seeded xoshiro128** generator whose four 32-bit words
are the data position saved in ``trainer_state.json``. So on the same data the two trainers see
the same batches in the same order, and either can take over the other's run mid-way.
"""

from __future__ import annotations

import json
import os
from typing import List, Sequence

import numpy as np

__all__ = ["DataError", "TokenData", "Rng", "window_starts", "sample_starts"]

_DTYPES = {"uint16": np.dtype("<u2"), "uint32": np.dtype("<u4")}
_MASK = 0xFFFFFFFF


class DataError(ValueError):
    """A dataset directory is missing, malformed or does not fit the model."""


class TokenData:
    """``train`` and ``validation`` token ids of a dataset directory (read-only memory maps)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        meta_path = os.path.join(directory, "meta.json")
        try:
            with open(meta_path, "r", encoding="utf-8") as f:
                meta = json.load(f)
        except FileNotFoundError:
            raise DataError(
                f"--data {directory}: no meta.json there; make the directory with "
                "`primer-ez data prepare --text FILE --out DIR`"
            ) from None
        except json.JSONDecodeError as e:
            raise DataError(f"--data {directory}: meta.json is not valid JSON ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != "primer-ez-tokens" or meta.get("version") != 1:
            raise DataError(
                f"--data {directory}: meta.json is not a primer-ez token dataset "
                f'(expected "format": "primer-ez-tokens", "version": 1)'
            )
        dtype = meta.get("dtype")
        if dtype not in _DTYPES:
            raise DataError(f"--data {directory}: meta.json dtype {dtype!r} is not 'uint16' or 'uint32'")
        vocab = meta.get("vocab_size")
        if not (isinstance(vocab, int) and vocab >= 1):
            raise DataError(f"--data {directory}: meta.json vocab_size {vocab!r} is not a positive integer")
        self.meta = meta
        self.vocab_size: int = vocab
        self.tokenizer_path = os.path.join(directory, str(meta.get("tokenizer", "tokenizer.json")))
        self.train = self._open("train.bin", _DTYPES[dtype], meta.get("train_tokens"))
        self.validation = self._open("val.bin", _DTYPES[dtype], meta.get("val_tokens"))

    def _open(self, name: str, dtype: np.dtype, count: object) -> np.ndarray:
        path = os.path.join(self.directory, name)
        if not os.path.isfile(path):
            raise DataError(f"--data {self.directory}: {name} is missing")
        size = os.path.getsize(path)
        if size % dtype.itemsize != 0 or (isinstance(count, int) and size != count * dtype.itemsize):
            raise DataError(
                f"--data {self.directory}: {name} holds {size} bytes, but meta.json says "
                f"{count} tokens of {dtype.itemsize} bytes; the dataset is damaged (prepare it again)"
            )
        if size == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(path, dtype=dtype, mode="r")

    def check_vocab(self, vocab_size: int) -> None:
        """Every token id must be below the model's ``vocab_size`` (checked in chunks)."""
        for name, tokens in (("train.bin", self.train), ("val.bin", self.validation)):
            for i in range(0, len(tokens), 1 << 24):
                chunk = tokens[i : i + (1 << 24)]
                top = int(chunk.max()) if len(chunk) else 0
                if top >= vocab_size:
                    at = i + int(np.argmax(chunk >= vocab_size))
                    raise DataError(
                        f"--data {self.directory}: {name} holds token {top} at position {at}, outside the "
                        f"model's vocabulary [0, {vocab_size}); was it prepared with this run's tokenizer?"
                    )


class Rng:
    """xoshiro128** seeded by SplitMix32, bit for bit the TypeScript trainer's ``Rng``."""

    def __init__(self, seed: int = 0) -> None:
        x = seed & _MASK

        def nxt() -> int:
            nonlocal x
            x = (x + 0x9E3779B9) & _MASK
            z = x
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & _MASK
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & _MASK
            return (z ^ (z >> 16)) & _MASK

        self.s = [nxt(), nxt(), nxt(), nxt()]

    @property
    def state(self) -> List[int]:
        return list(self.s)

    def restore(self, state: Sequence[int]) -> None:
        if (
            len(state) != 4
            or not all(isinstance(v, int) and 0 <= v <= _MASK for v in state)
            or not any(state)
        ):
            raise DataError(f"rng: a saved state is four 32-bit unsigned integers, not all zero; got {state!r}")
        self.s = list(state)

    def next_uint32(self) -> int:
        s = self.s
        result = (_rotl((s[1] * 5) & _MASK, 7) * 9) & _MASK
        t = (s[1] << 9) & _MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 11)
        return result

    def int(self, n: int) -> int:
        """An integer in [0, n) without modulo bias (rejection sampling, as in TypeScript)."""
        if not (1 <= n <= 1 << 32):
            raise ValueError(f"Rng.int: n must be an integer in [1, 2^32], got {n}")
        limit = (1 << 32) - ((1 << 32) % n)
        x = self.next_uint32()
        while x >= limit:
            x = self.next_uint32()
        return x % n


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


def sample_starts(rng: Rng, n_tokens: int, batch_size: int, seq_len: int) -> List[int]:
    """The start positions of the next batch's training windows (``BatchSampler.nextStarts``)."""
    span = n_tokens - seq_len
    return [rng.int(span) for _ in range(batch_size)]


def window_starts(n: int, seq_len: int, max_windows: int = 0) -> List[int]:
    """Consecutive non-overlapping windows over ``n`` tokens, ``max_windows`` of them evenly
    spaced when given (``windowStarts`` in TypeScript: the validation set both trainers score)."""
    count = (n - 1) // seq_len if n >= seq_len + 1 else 0
    if max_windows <= 0 or max_windows >= count:
        return [i * seq_len for i in range(count)]
    return [((i * count) // max_windows) * seq_len for i in range(max_windows)]


def windows(tokens: np.ndarray, starts: Sequence[int], seq_len: int) -> np.ndarray:
    """``[len(starts), seq_len + 1]`` int64: inputs are ``[:, :-1]``, targets ``[:, 1:]``."""
    out = np.empty((len(starts), seq_len + 1), dtype=np.int64)
    for i, s in enumerate(starts):
        out[i] = tokens[s : s + seq_len + 1]
    return out
