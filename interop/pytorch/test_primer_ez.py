"""Tests for primer_ez.py and the committed fixtures.

    cd interop/pytorch && /usr/bin/python3 -m unittest          # or: /usr/bin/python3 test_primer_ez.py
"""

from __future__ import annotations

import copy
import json
import math
import os
import struct
import sys
import tempfile
import unittest
import zlib

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import primer_ez as pe  # noqa: E402
from primer_ez import (  # noqa: E402
    CheckpointError,
    PrimerEZ,
    PrimerEZConfig,
    SafetensorsError,
    expected_tensor_shapes,
    load_checkpoint,
    read_safetensors,
    read_safetensors_metadata,
    save_checkpoint,
    write_safetensors,
)

FIXTURES = os.path.normpath(
    os.path.join(HERE, "..", "..", "packages", "primer-layers", "fixtures", "torch")
)
TINY = dict(vocab_size=11, d_model=16, n_heads=4, n_layers=2, d_ff=32, max_seq_len=16)
VARIANTS = {
    "per_channel": dict(),
    "per_channel_bias": dict(dconv_bias=True),
    "shared": dict(dconv="shared"),
    "shared_no_bias": dict(dconv="shared", dconv_bias=False),
    "vanilla": dict(attention="mha", ffn_activation="relu"),
    "sinusoidal_tied": dict(positional="sinusoidal", tie_embeddings=True, dconv_bias=True),
    "kernel5_relu": dict(dconv_kernel=5, ffn_activation="relu"),
    "kernel1_shared": dict(dconv="shared", dconv_kernel=1),
}


def config(**overrides) -> PrimerEZConfig:
    return PrimerEZConfig(**{**TINY, **overrides})


def random_model(cfg: PrimerEZConfig, seed: int = 0) -> PrimerEZ:
    """A model with every tensor random (so that no tensor can be silently ignored)."""
    torch.manual_seed(seed)
    m = PrimerEZ(cfg)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    return m.eval()


# --------------------------------------------------------------------------------------------
# An independent, loop-based reference: written from the spec, shares no code with primer_ez.
# --------------------------------------------------------------------------------------------


def naive_logits(cfg: PrimerEZConfig, sd: dict, ids: torch.Tensor) -> torch.Tensor:
    sd = {k: v.detach().double() for k, v in sd.items()}
    B, T = ids.shape
    C, H = cfg.d_model, cfg.n_heads
    D, K = C // H, cfg.dconv_kernel

    def layer_norm(x, p):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + cfg.norm_eps) * sd[p + ".weight"] + sd[p + ".bias"]

    def linear(x, p):
        return x @ sd[p + ".weight"].t() + sd[p + ".bias"]

    def dconv(x, p):
        w, bias = sd[p + ".weight"], sd.get(p + ".bias")
        y = torch.zeros_like(x)
        for t in range(T):
            for c in range(C):
                kc = c if cfg.dconv == "per_channel" else c % D
                acc = torch.zeros(B, dtype=torch.float64) + (bias[kc] if bias is not None else 0)
                for k in range(K):
                    src = t - (K - 1) + k
                    if src >= 0:
                        acc = acc + w[kc, 0, k] * x[:, src, c]
                y[:, t, c] = acc
        return y

    x = sd["embed.weight"][ids]
    if cfg.positional == "learned":
        x = x + sd["pos_embed.weight"][:T]
    else:
        pos_enc = torch.zeros(T, C, dtype=torch.float64)
        for pos in range(T):
            for j in range(C):
                i = j // 2
                angle = pos * math.exp(-(2 * i) * math.log(10000.0) / C)
                pos_enc[pos, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
        x = x * math.sqrt(C) + pos_enc
    for li in range(cfg.n_layers):
        p = f"blocks.{li}."
        h = layer_norm(x, p + "attn_norm")
        q, k, v = (linear(h, p + f"attn.{n}_proj") for n in "qkv")
        if cfg.attention == "mdha":
            q, k, v = (dconv(t, p + f"attn.{n}_dconv") for t, n in zip((q, k, v), "qkv"))
        att = torch.zeros(B, T, C, dtype=torch.float64)
        for b in range(B):
            for hd in range(H):
                cs = slice(hd * D, (hd + 1) * D)
                for t in range(T):
                    s = torch.stack([q[b, t, cs] @ k[b, u, cs] for u in range(t + 1)]) / math.sqrt(D)
                    w = torch.softmax(s, 0)
                    att[b, t, cs] = sum(w[u] * v[b, u, cs] for u in range(t + 1))
        x = x + linear(att, p + "attn.o_proj")
        h = layer_norm(x, p + "ffn_norm")
        a = torch.relu(linear(h, p + "ffn.up"))
        if cfg.ffn_activation == "squared_relu":
            a = a**2
        x = x + linear(a, p + "ffn.down")
    h = layer_norm(x, "final_norm")
    if cfg.tie_embeddings:
        return h @ sd["embed.weight"].t()
    return linear(h, "lm_head")


# --------------------------------------------------------------------------------------------


class TestConfig(unittest.TestCase):
    def test_defaults_and_round_trip(self):
        c = config()
        self.assertEqual(
            (c.ffn_activation, c.attention, c.dconv, c.dconv_kernel, c.dconv_bias, c.positional),
            ("squared_relu", "mdha", "per_channel", 3, True, "learned"),
        )
        self.assertEqual((c.norm_eps, c.tie_embeddings, c.dropout), (1e-5, False, 0.0))
        self.assertIs(config(dconv="shared").dconv_bias, True)
        self.assertIs(config(dconv="shared", dconv_bias=False).dconv_bias, False)
        for overrides in VARIANTS.values():
            c = config(**overrides)
            d = json.loads(c.to_json())
            self.assertEqual(d["model_type"], "primer-ez")
            self.assertEqual(PrimerEZConfig.from_dict(d), c)

    def assert_bad(self, *words, **d):
        with self.assertRaises(ValueError) as cm:
            PrimerEZConfig.from_dict({"model_type": "primer-ez", **TINY, **d})
        for w in words:
            self.assertIn(w, str(cm.exception))

    def test_validation_names_key_and_value(self):
        self.assert_bad("d_model", "15", "n_heads", d_model=15)
        self.assert_bad("attention", "'foo'", attention="foo")
        self.assert_bad("ffn_activation", "'gelu'", ffn_activation="gelu")
        self.assert_bad("dconv", "'grouped'", dconv="grouped")
        self.assert_bad("positional", "'rope'", positional="rope")
        self.assert_bad("dconv_kernel", "0", dconv_kernel=0)
        self.assert_bad("n_layers", "-1", n_layers=-1)
        self.assert_bad("vocab_size", "11.0", vocab_size=11.0)
        self.assert_bad("d_ff", "True", d_ff=True)
        self.assert_bad("dconv_bias", "'yes'", dconv_bias="yes")
        self.assert_bad("tie_embeddings", "1", tie_embeddings=1)
        self.assert_bad("norm_eps", "0", norm_eps=0)
        self.assert_bad("dropout", "1.5", dropout=1.5)
        self.assert_bad("model_type", "'gpt2'", model_type="gpt2")
        self.assert_bad("unknown key", "colour", colour="red")
        with self.assertRaises(ValueError) as cm:
            PrimerEZConfig.from_dict({"model_type": "primer-ez", "vocab_size": 11})
        self.assertIn("d_model", str(cm.exception))


class TestSafetensors(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "t.safetensors")

    def tearDown(self):
        self.dir.cleanup()

    def test_round_trip_layout_and_metadata(self):
        tensors = {
            "a": torch.randn(3, 5),
            "b.c": torch.arange(7, dtype=torch.int64),
            "d": torch.randn(2, 1, 3, dtype=torch.float64),
            "e": torch.zeros(0, 4),
            "f": torch.tensor([True, False, True]),
        }
        write_safetensors(self.path, tensors, {"format": "pt", "note": "héllo"})
        with open(self.path, "rb") as f:
            buf = f.read()
        (n,) = struct.unpack("<Q", buf[:8])
        self.assertEqual((8 + n) % 8, 0, "data section must start at a multiple of 8")
        header = json.loads(buf[8 : 8 + n])
        names = [k for k in header if k != "__metadata__"]
        self.assertEqual(names, list(tensors))
        end = 0
        for k in names:  # contiguous, in header order
            self.assertEqual(header[k]["data_offsets"][0], end)
            end = header[k]["data_offsets"][1]
        self.assertEqual(8 + n + end, len(buf))
        self.assertEqual(header["a"]["dtype"], "F32")
        self.assertEqual(header["a"]["data_offsets"], [0, 60])
        back = read_safetensors(self.path)
        self.assertEqual(list(back), list(tensors))
        for k, t in tensors.items():
            self.assertEqual(back[k].dtype, t.dtype, k)
            self.assertTrue(torch.equal(back[k], t), k)
        self.assertEqual(
            read_safetensors_metadata(self.path),
            {"format": "pt", "note": "héllo", "crc32": f"{zlib.crc32(buf[8 + n :]):08x}"},
        )
        # a tensor's bytes are its little-endian values
        self.assertEqual(
            struct.unpack("<15f", buf[8 + n : 8 + n + 60]), tuple(tensors["a"].reshape(-1).tolist())
        )

    def test_a_flipped_data_byte_fails_the_crc(self):
        write_safetensors(self.path, {"a": torch.arange(8, dtype=torch.float32)})
        with open(self.path, "r+b") as f:
            f.seek(-3, os.SEEK_END)
            byte = f.read(1)
            f.seek(-3, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0x10]))
        with self.assertRaisesRegex(SafetensorsError, "CRC-32 .* does not match .*: the file is corrupted"):
            read_safetensors(self.path)

    def test_half_and_bfloat16_are_upcast(self):
        x = torch.randn(4, 6) * 10
        x[0, :5] = torch.tensor([0.0, -0.0, float("inf"), -1.5, 65504.0])
        write_safetensors(self.path, {"h": x.half(), "b": x.bfloat16()})
        back = read_safetensors(self.path)
        self.assertEqual(back["h"].dtype, torch.float32)
        self.assertEqual(back["b"].dtype, torch.float32)
        self.assertTrue(torch.equal(back["h"], x.half().float()))
        self.assertTrue(torch.equal(back["b"], x.bfloat16().float()))
        raw = read_safetensors(self.path, upcast=False)
        self.assertEqual((raw["h"].dtype, raw["b"].dtype), (torch.float16, torch.bfloat16))

    def write_raw(self, header: dict, data: bytes) -> None:
        h = json.dumps(header).encode()
        with open(self.path, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + data)

    def test_malformed_files(self):
        with open(self.path, "wb") as f:
            f.write(b"\x01\x00")
        self.assertRaises(SafetensorsError, read_safetensors, self.path)
        with open(self.path, "wb") as f:
            f.write(struct.pack("<Q", 1000) + b"{}")
        self.assertRaises(SafetensorsError, read_safetensors, self.path)
        cases = [
            ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}}, "needs 8"),
            ({"x": {"dtype": "F32", "shape": [5], "data_offsets": [0, 20]}}, "bad data_offsets"),
            ({"x": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, "unsupported dtype"),
            (
                {
                    "x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "y": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
                },
                "overlap",
            ),
        ]
        for header, msg in cases:
            self.write_raw(header, bytes(16))
            with self.assertRaises(SafetensorsError) as cm:
                read_safetensors(self.path)
            self.assertIn(msg, str(cm.exception))
            self.assertIn("x", str(cm.exception))


class TestModel(unittest.TestCase):
    def test_state_dict_names_are_the_checkpoint_names(self):
        for name, overrides in VARIANTS.items():
            cfg = config(**overrides)
            sd = PrimerEZ(cfg).state_dict()
            shapes = expected_tensor_shapes(cfg)
            self.assertEqual(list(sd), list(shapes), name)
            for k, s in shapes.items():
                self.assertEqual(tuple(sd[k].shape), s, f"{name}: {k}")
        sd = PrimerEZ(config(dconv="shared")).state_dict()
        self.assertEqual(tuple(sd["blocks.1.attn.v_dconv.weight"].shape), (4, 1, 3))
        self.assertEqual(tuple(sd["blocks.1.attn.v_dconv.bias"].shape), (4,))
        sd = PrimerEZ(config(positional="sinusoidal", tie_embeddings=True)).state_dict()
        self.assertFalse(any(k.startswith(("lm_head", "pos_embed", "pe")) for k in sd))
        self.assertFalse(any("dconv" in k for k in PrimerEZ(config(attention="mha")).state_dict()))

    def test_matches_independent_reference(self):
        for i, (name, overrides) in enumerate(VARIANTS.items()):
            cfg = config(**overrides)
            m = random_model(cfg, seed=i).double()
            ids = torch.randint(0, cfg.vocab_size, (2, 9), generator=torch.Generator().manual_seed(i))
            got = m(ids)
            want = naive_logits(cfg, m.state_dict(), ids)
            self.assertEqual(tuple(got.shape), (2, 9, cfg.vocab_size))
            self.assertLess((got - want).abs().max().item(), 1e-10, name)

    def test_causality(self):
        for i, (name, overrides) in enumerate(VARIANTS.items()):
            cfg = config(**overrides)
            m = random_model(cfg, seed=10 + i).double()
            g = torch.Generator().manual_seed(i)
            ids = torch.randint(0, cfg.vocab_size, (2, cfg.max_seq_len), generator=g)
            base = m(ids)
            for t in range(cfg.max_seq_len - 1):
                changed = ids.clone()
                changed[:, t + 1] = (changed[:, t + 1] + 1 + t % (cfg.vocab_size - 1)) % cfg.vocab_size
                out = m(changed)
                self.assertLess(
                    (out[:, : t + 1] - base[:, : t + 1]).abs().max().item(), 1e-12, f"{name} t={t}"
                )
                self.assertGreater((out[:, t + 1 :] - base[:, t + 1 :]).abs().max().item(), 1e-6)

    def test_shared_equals_per_channel_with_tiled_kernels(self):
        for bias in (True, False):
            shared = random_model(config(dconv="shared", dconv_bias=bias), seed=3).double()
            per = PrimerEZ(config(dconv="per_channel", dconv_bias=bias)).double()
            sd = shared.state_dict()
            tiled = {}
            for k, v in sd.items():
                if "dconv.weight" in k:
                    v = v.repeat(4, 1, 1)  # [D,1,K] -> [C,1,K]: channel c uses kernel c mod D
                elif "dconv.bias" in k:
                    v = v.repeat(4)
                tiled[k] = v
            per.load_state_dict(tiled)
            ids = torch.randint(0, 11, (3, 14), generator=torch.Generator().manual_seed(1))
            self.assertLess((shared(ids) - per(ids).detach()).abs().max().item(), 1e-12)

    def test_dconv_tap_order(self):
        # y[t, c] = bias[c] + sum_k w[c, 0, k] x[t - (K-1) + k, c]; tap K-1 is the current step.
        conv = torch.nn.Conv1d(2, 2, 3, groups=2, bias=True).double()
        with torch.no_grad():
            conv.weight.copy_(torch.tensor([[[1.0, 10.0, 100.0]], [[2.0, 20.0, 200.0]]]))
            conv.bias.copy_(torch.tensor([0.5, -0.5]))
        x = torch.zeros(1, 4, 2, dtype=torch.float64)
        x[0, 1, 0] = 1.0  # impulse at t=1 on channel 0
        x[0, 0, 1] = 1.0  # impulse at t=0 on channel 1
        y = pe.causal_dconv(x, conv, n_heads=1, shared=False)
        self.assertEqual(y[0, :, 0].tolist(), [0.5, 100.5, 10.5, 1.5])
        self.assertEqual(y[0, :, 1].tolist(), [199.5, 19.5, 1.5, -0.5])

    def test_smoothing_init(self):
        m = PrimerEZ(config(dconv_init="smoothing"))
        self.assertTrue(torch.equal(m.blocks[0].attn.q_dconv.bias, torch.zeros(16)))
        w = m.blocks[0].attn.q_dconv.weight
        self.assertTrue(torch.allclose(w[:, 0, 2], torch.full((16,), 0.5)))
        self.assertTrue(torch.allclose(w[:, 0, :2], torch.full((16, 2), 0.5 / 3)))
        w5 = PrimerEZ(config(dconv_kernel=5, dconv_init="smoothing")).blocks[1].attn.v_dconv.weight
        self.assertEqual(w5[0, 0].tolist(), [pytest_approx(0.5 / 3)] * 4 + [0.5])

    def test_dconv_init(self):
        self.assertEqual(config().dconv_init, "uniform")
        self.assertEqual(config(dconv="shared").dconv_init, "uniform")
        torch.manual_seed(0)
        m = PrimerEZ(config(dconv_init="uniform", dconv_bias=True))
        conv = m.blocks[0].attn.k_dconv
        bound = 1 / math.sqrt(3)
        self.assertLessEqual(conv.weight.abs().max().item(), bound)
        self.assertLessEqual(conv.bias.abs().max().item(), bound)
        self.assertEqual(len(set(conv.weight.flatten().tolist())), conv.weight.numel())
        with self.assertRaisesRegex(pe.ConfigError, "dconv_init"):
            config(dconv_init="kaiming")
        # A config.json written before the key existed reads as the default (only the init
        # depends on it).
        old = config().to_dict()
        del old["dconv_init"]
        self.assertEqual(pe.PrimerEZConfig.from_dict(old).dconv_init, "uniform")

    def test_sinusoidal_positions(self):
        table = pe.sinusoidal_positions(16, 16)
        self.assertAlmostEqual(table[3, 4].item(), math.sin(3 * 10000 ** (-4 / 16)), places=12)
        self.assertAlmostEqual(table[3, 5].item(), math.cos(3 * 10000 ** (-4 / 16)), places=12)
        self.assertEqual(table[0, 0::2].abs().max().item(), 0.0)
        self.assertEqual(table[0, 1::2].tolist(), [1.0] * 8)
        odd = pe.sinusoidal_positions(4, 5)
        self.assertAlmostEqual(odd[2, 4].item(), math.sin(2 * 10000 ** (-4 / 5)), places=12)

    def test_loss_is_mean_cross_entropy(self):
        m = random_model(config()).double()
        g = torch.Generator().manual_seed(5)
        ids, tg = (torch.randint(0, 11, (2, 7), generator=g) for _ in range(2))
        logp = torch.log_softmax(m(ids), -1)
        want = -sum(logp[b, t, tg[b, t]] for b in range(2) for t in range(7)) / 14
        self.assertAlmostEqual(m.loss(ids, tg).item(), want.item(), places=12)

    def test_input_errors(self):
        m = PrimerEZ(config())
        with self.assertRaisesRegex(ValueError, "T=17 exceeds max_seq_len=16"):
            m(torch.zeros(1, 17, dtype=torch.long))
        with self.assertRaisesRegex(ValueError, r"token id 11 outside \[0, 11\)"):
            m(torch.tensor([[1, 11]]))
        with self.assertRaisesRegex(ValueError, r"token id -1 outside \[0, 11\)"):
            m(torch.tensor([[-1, 2]]))
        with self.assertRaisesRegex(TypeError, "integer"):
            m(torch.zeros(1, 3))
        with self.assertRaisesRegex(ValueError, "targets: token id 12"):
            m.loss(torch.tensor([[1, 2]]), torch.tensor([[1, 12]]))
        m(torch.zeros(2, 16, dtype=torch.int32))  # the full context and int32 ids are fine

    def test_generate(self):
        m = random_model(config())
        out = m.generate(torch.tensor([[1, 2, 3]]), 20)
        self.assertEqual(tuple(out.shape), (1, 23))
        self.assertTrue(torch.equal(out, m.generate(torch.tensor([[1, 2, 3]]), 20)))
        logits = m(out[:, :3])
        self.assertEqual(out[0, 3].item(), logits[0, -1].argmax().item())
        g = torch.Generator().manual_seed(0)
        s = m.generate(torch.tensor([[1]]), 5, temperature=1.0, generator=g)
        self.assertTrue(((s >= 0) & (s < 11)).all())

    def test_dropout_only_in_training(self):
        m = random_model(config(dropout=0.5))
        ids = torch.randint(0, 11, (2, 8))
        m.eval()
        self.assertTrue(torch.equal(m(ids), m(ids)))
        m.train()
        self.assertFalse(torch.equal(m(ids), m(ids)))


def pytest_approx(v):
    """A float that compares equal to anything within 1e-7 of ``v`` (no pytest dependency)."""

    class Approx(float):
        def __eq__(self, other):
            return abs(other - v) < 1e-7

        __hash__ = float.__hash__

    return Approx(v)


class TestCheckpoint(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self.tmp.name, "ckpt")

    def tearDown(self):
        self.tmp.cleanup()

    def test_round_trip(self):
        for i, (name, overrides) in enumerate(VARIANTS.items()):
            m = random_model(config(**overrides), seed=i)
            d = os.path.join(self.tmp.name, name)
            save_checkpoint(m, d)
            self.assertEqual(sorted(os.listdir(d)), ["config.json", "model.safetensors"], name)
            back = load_checkpoint(d)
            self.assertEqual(back.config, m.config)
            a, b = m.state_dict(), back.state_dict()
            self.assertEqual(list(a), list(b))
            for k in a:
                self.assertTrue(torch.equal(a[k], b[k]), f"{name}: {k}")
            ids = torch.randint(0, 11, (2, 10))
            self.assertTrue(torch.equal(m(ids), back(ids)))
            with open(os.path.join(d, "model.safetensors"), "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(n))
            self.assertEqual({v["dtype"] for k, v in header.items() if k != "__metadata__"}, {"F32"})

    def test_config_without_dconv_bias_loads_the_bias_its_weights_hold(self):
        for bias in (False, True):
            m = random_model(config(dconv_bias=bias), seed=4)
            save_checkpoint(m, self.dir)
            path = os.path.join(self.dir, "config.json")
            with open(path) as f:
                d = json.load(f)
            del d["dconv_bias"]
            with open(path, "w") as f:
                json.dump(d, f)
            back = load_checkpoint(self.dir)
            self.assertIs(back.config.dconv_bias, bias)
            self.assertEqual(back.config, m.config)

    def test_overwrite_is_atomic_and_keeps_other_files(self):
        m = random_model(config())
        save_checkpoint(m, self.dir)
        with open(os.path.join(self.dir, "tokenizer.json"), "w") as f:
            f.write("{}")
        m2 = random_model(config(), seed=9)
        save_checkpoint(m2, self.dir)
        self.assertEqual(
            sorted(os.listdir(self.dir)), ["config.json", "model.safetensors", "tokenizer.json"]
        )
        back = load_checkpoint(self.dir)
        self.assertTrue(torch.equal(back.embed.weight, m2.embed.weight))

    def rewrite(self, edit):
        save_checkpoint(random_model(config()), self.dir)
        path = os.path.join(self.dir, "model.safetensors")
        tensors = read_safetensors(path)
        edit(tensors)
        write_safetensors(path, tensors)

    def assert_load_error(self, *words):
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(self.dir)
        for w in words:
            self.assertIn(w, str(cm.exception))

    def test_missing_tensor(self):
        self.rewrite(lambda t: t.pop("blocks.1.attn.k_dconv.weight"))
        self.assert_load_error("missing", "blocks.1.attn.k_dconv.weight")

    def test_extra_tensor(self):
        self.rewrite(lambda t: t.update({"blocks.9.ffn.up.weight": torch.zeros(16)}))
        self.assert_load_error("unexpected", "blocks.9.ffn.up.weight")

    def test_misshapen_tensor(self):
        self.rewrite(lambda t: t.update({"blocks.0.ffn.up.weight": torch.zeros(32, 15)}))
        self.assert_load_error("blocks.0.ffn.up.weight", "[32, 15]", "[32, 16]")

    def test_config_that_does_not_match_the_tensors(self):
        save_checkpoint(random_model(config()), self.dir)
        path = os.path.join(self.dir, "config.json")
        with open(path) as f:
            d = json.load(f)
        with open(path, "w") as f:
            json.dump({**d, "d_ff": 64, "dconv": "shared"}, f)
        self.assert_load_error("blocks.0.ffn.up.weight", "[64, 16]", "blocks.0.attn.q_dconv.weight")

    def test_bad_config(self):
        save_checkpoint(random_model(config()), self.dir)
        path = os.path.join(self.dir, "config.json")
        with open(path) as f:
            d = json.load(f)
        for bad, words in (
            ({"n_heads": 3}, ("d_model", "16", "n_heads=3")),
            ({"attention": "linear"}, ("attention", "'linear'")),
            ({"dconv_kernel": 0}, ("dconv_kernel", "0")),
        ):
            with open(path, "w") as f:
                json.dump({**d, **bad}, f)
            with self.assertRaises(ValueError) as cm:
                load_checkpoint(self.dir)
            for w in words:
                self.assertIn(w, str(cm.exception))
        with open(path, "w") as f:
            f.write("{not json")
        with self.assertRaisesRegex(ValueError, "not valid JSON"):
            load_checkpoint(self.dir)

    def test_low_precision_checkpoint_loads_upcast(self):
        m = random_model(config())
        save_checkpoint(m, self.dir)
        path = os.path.join(self.dir, "model.safetensors")
        write_safetensors(path, {k: v.bfloat16() for k, v in m.state_dict().items()})
        back = load_checkpoint(self.dir)
        for k, v in m.state_dict().items():
            self.assertTrue(torch.equal(back.state_dict()[k], v.bfloat16().float()), k)


@unittest.skipUnless(os.path.isdir(FIXTURES), "fixtures not generated")
class TestFixtures(unittest.TestCase):
    CASES = ("per_channel", "shared", "vanilla", "sinusoidal_tied")

    def test_cases(self):
        for case in self.CASES:
            d = os.path.join(FIXTURES, case)
            m = load_checkpoint(d)
            with open(os.path.join(d, "expected.json")) as f:
                exp = json.load(f)
            self.assertEqual(sorted(exp), ["grads", "ids", "loss", "targets"])
            tensors = read_safetensors(os.path.join(d, "expected.safetensors"))
            self.assertEqual(list(tensors), ["logits"] + ["grad." + n for n in exp["grads"]])
            ids, tg = torch.tensor(exp["ids"]), torch.tensor(exp["targets"])
            self.assertEqual(tuple(ids.shape), (2, 12))
            ref = copy.deepcopy(m).double()
            logits = ref(ids)
            self.assertLess((logits.float() - tensors["logits"]).abs().max().item(), 1e-6, case)
            naive = naive_logits(m.config, m.state_dict(), ids)
            self.assertLess((naive.float() - tensors["logits"]).abs().max().item(), 1e-5, case)
            loss = ref.loss(ids, tg)
            self.assertAlmostEqual(loss.item(), exp["loss"], places=12)
            params = dict(ref.named_parameters())
            grads = torch.autograd.grad(loss, [params[n] for n in exp["grads"]])
            for n, g in zip(exp["grads"], grads):
                want = tensors["grad." + n]
                self.assertEqual(tuple(want.shape), tuple(params[n].shape))
                self.assertLess((g.float() - want).abs().max().item(), 1e-6, f"{case}: {n}")
            # The float32 model is close to the float64 references (the tolerance TS can expect).
            self.assertLess((m(ids) - tensors["logits"]).abs().max().item(), 1e-4, case)
            self.assertLess(abs(m.loss(ids, tg).item() - exp["loss"]), 1e-5, case)

    def test_low_precision_copies(self):
        f32 = load_checkpoint(os.path.join(FIXTURES, "per_channel")).state_dict()
        for case, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
            d = os.path.join(FIXTURES, case)
            with open(os.path.join(d, "config.json")) as a, open(
                os.path.join(FIXTURES, "per_channel", "config.json")
            ) as b:
                self.assertEqual(json.load(a), json.load(b))
            with open(os.path.join(d, "model.safetensors"), "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(n))
            want = {"fp16": "F16", "bf16": "BF16"}[case]
            self.assertEqual({v["dtype"] for k, v in header.items() if k != "__metadata__"}, {want})
            sd = load_checkpoint(d).state_dict()
            for k, v in f32.items():
                self.assertTrue(torch.equal(sd[k], v.to(dtype).float()), f"{case}: {k}")

    def test_files_are_small(self):
        for root, _, files in os.walk(FIXTURES):
            for f in files:
                self.assertLess(os.path.getsize(os.path.join(root, f)), 32 * 1024, f)


if __name__ == "__main__":
    unittest.main()
