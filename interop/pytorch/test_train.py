"""Unit tests of train.py's parts (run by ``python3 -m unittest`` and by ``pnpm test``).

The end-to-end tests (torchrun, DDP on 2 processes, the TypeScript tools on the run directory,
resume across languages, a killed process) are in test/torchrun.test.ts.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

import train
from distributed import cpu_threads
from primer_ez import PrimerEZ, PrimerEZConfig
from rundir import RunDirectory, RunDirectoryError, find_checkpoint
from tokens import DataError, TokenData, window_starts
from trainer_state import ResumeError, load_moments, make_optimizer, moments, read_checkpoint, ts_shape, write_checkpoint


def tiny_config(**over: object) -> PrimerEZConfig:
    return PrimerEZConfig(vocab_size=11, d_model=8, n_heads=2, n_layers=1, d_ff=12, max_seq_len=6, **over)  # type: ignore[arg-type]


def take_steps(model: PrimerEZ, opt: torch.optim.Optimizer, n: int, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        ids = torch.randint(0, 11, (2, 6), generator=g)
        opt.zero_grad()
        model.loss(ids, ids.roll(1, 1)).backward()
        opt.step()


class OptimizerStateTest(unittest.TestCase):
    def test_moments_round_trip_and_continue_identically(self) -> None:
        for cfg in (tiny_config(), tiny_config(dconv="shared", tie_embeddings=True)):
            torch.manual_seed(0)
            a = PrimerEZ(cfg)
            opt_a = make_optimizer(a, train.DEFAULT_OPTIONS)
            take_steps(a, opt_a, 3)
            saved = moments(a, opt_a)
            for name, p in a.named_parameters():  # the TypeScript layout
                self.assertEqual(tuple(saved[f"m.{name}"].shape), ts_shape(name, tuple(p.shape)), name)
            b = PrimerEZ(cfg)
            b.load_state_dict(a.state_dict())
            opt_b = make_optimizer(b, train.DEFAULT_OPTIONS)
            load_moments(b, opt_b, saved, 3)
            take_steps(a, opt_a, 2, seed=1)
            take_steps(b, opt_b, 2, seed=1)
            for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
                torch.testing.assert_close(pa, pb, rtol=0, atol=0, msg=name)

    def test_decay_only_on_matrices_embeddings_and_conv_kernels(self) -> None:
        model = PrimerEZ(tiny_config(dconv_bias=True))
        opt = make_optimizer(model, train.DEFAULT_OPTIONS)
        names = {id(p): n for n, p in model.named_parameters()}
        decayed = sorted(names[id(p)] for p in opt.param_groups[0]["params"])
        self.assertEqual(opt.param_groups[0]["weight_decay"], 0.01)
        self.assertEqual(opt.param_groups[1]["weight_decay"], 0.0)
        self.assertIn("embed.weight", decayed)
        self.assertIn("blocks.0.attn.q_dconv.weight", decayed)
        self.assertNotIn("blocks.0.attn.q_dconv.bias", decayed)
        self.assertNotIn("blocks.0.attn_norm.weight", decayed)
        self.assertTrue(all(n.endswith("weight") for n in decayed))

    def test_a_moment_of_the_wrong_shape_is_named(self) -> None:
        model = PrimerEZ(tiny_config())
        opt = make_optimizer(model, train.DEFAULT_OPTIONS)
        saved = moments(model, opt)
        saved["m.blocks.0.ffn.up.weight"] = saved["m.blocks.0.ffn.up.weight"].t()  # PyTorch's layout
        with self.assertRaisesRegex(ResumeError, r"'m.blocks.0.ffn.up.weight' has shape \[12, 8\]; the model needs \[8, 12\]"):
            load_moments(model, opt, saved, 1)


class ScheduleTest(unittest.TestCase):
    def test_warmup_then_cosine_to_a_tenth(self) -> None:
        o = {**train.DEFAULT_OPTIONS, "totalSteps": 1100}
        self.assertAlmostEqual(train.learning_rate(o, 128, 1), 1e-5)
        self.assertAlmostEqual(train.learning_rate(o, 128, 100), 1e-3)
        self.assertAlmostEqual(train.learning_rate(o, 128, 600), 1e-3 * (0.1 + 0.9 * 0.5))
        self.assertAlmostEqual(train.learning_rate(o, 128, 1100), 1e-4)
        self.assertAlmostEqual(train.learning_rate(o, 128, 5000), 1e-4)


class RunDirectoryTest(unittest.TestCase):
    def test_checkpoint_pointers_pruning_and_repair(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            run = RunDirectory(d, keep=2)
            model = PrimerEZ(tiny_config())
            opt = make_optimizer(model, train.DEFAULT_OPTIONS)
            state = {"format": "primer-ez-trainer-state", "version": 1, "step": 0, "rng": [1, 2, 3, 4],
                     "bestValLoss": None, "tokensSeen": 0, "elapsedMs": 0.0, "options": train.DEFAULT_OPTIONS}
            for step, kind in ((1, "best"), (2, "periodic"), (3, "periodic"), (4, "final")):
                state["step"] = step
                run.save(step, lambda p: write_checkpoint(p, model, "{}", state, moments(model, opt), step),
                         0.5 if kind == "best" else None, kind)
            names = sorted(os.listdir(os.path.join(d, "checkpoints")))
            self.assertEqual(names, ["step-000001", "step-000003", "step-000004"])  # best kept
            with open(os.path.join(d, "latest.json")) as f:
                self.assertEqual(json.load(f), {"checkpoint": "checkpoints/step-000004", "step": 4, "val_loss": None})
            snapshot = read_checkpoint(find_checkpoint(d) or "")
            self.assertEqual(snapshot["optimizer_step"], 4)
            # A save killed half-way: a temporary directory, and step 3 moved aside, never replaced.
            os.makedirs(os.path.join(d, "checkpoints", "step-000005.tmp-0badcafe"))
            os.rename(os.path.join(d, "checkpoints", "step-000003"), os.path.join(d, "checkpoints", "step-000003.old-1234abcd"))
            RunDirectory(d)
            self.assertEqual(sorted(os.listdir(os.path.join(d, "checkpoints"))), ["step-000001", "step-000003", "step-000004"])

    def test_one_writer_and_no_silent_overwrite(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            run = RunDirectory(d)
            with open(os.path.join(d, "run.lock")) as f:
                self.assertEqual(json.load(f)["pid"], os.getpid())
            run.log({"step": 1, "loss": 2.0})
            run.close()
            self.assertFalse(os.path.exists(os.path.join(d, "run.lock")))
            with self.assertRaisesRegex(RunDirectoryError, r"already holds a run \(metrics.jsonl\); continue it with --resume"):
                RunDirectory(d, mode="fresh")
            self.assertFalse(os.path.exists(os.path.join(d, "run.lock")))  # released on refusal
            RunDirectory(d, mode="overwrite").close()
            self.assertFalse(os.path.exists(os.path.join(d, "metrics.jsonl")))
            # A live process on this host holds it (pid 1 is always alive): refused, naming it.
            lock = {"pid": 1, "host": socket.gethostname(), "started": "2026-01-01T00:00:00.000Z"}
            with open(os.path.join(d, "run.lock"), "w") as f:
                json.dump(lock, f)
            with self.assertRaisesRegex(RunDirectoryError, r"in use by another process \(pid 1 on host"):
                RunDirectory(d)
            # A dead one's lock is taken over.
            child = subprocess.Popen([sys.executable, "-c", "pass"])
            child.wait()
            with open(os.path.join(d, "run.lock"), "w") as f:
                json.dump({**lock, "pid": child.pid}, f)
            RunDirectory(d).close()

    def test_metrics_cut_back_to_the_resumed_step(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            run = RunDirectory(d)
            for step in (1, 2, 3):
                run.log({"step": step, "loss": 1.0})
            run.log({"step": 2, "val_loss": 1.0})
            with open(os.path.join(d, "metrics.jsonl"), "a") as f:
                f.write('{"step": 4, "lo')  # cut short by a kill
            self.assertEqual(run.truncate_metrics(2), 2)
            with open(os.path.join(d, "metrics.jsonl")) as f:
                self.assertEqual([json.loads(line)["step"] for line in f], [1, 2, 2])
            run.close()

    def test_a_damaged_state_is_named(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            model = PrimerEZ(tiny_config())
            opt = make_optimizer(model, train.DEFAULT_OPTIONS)
            state = {"format": "primer-ez-trainer-state", "version": 1, "step": -1, "rng": [1, 2, 3, 4],
                     "bestValLoss": None, "tokensSeen": 0, "elapsedMs": 0.0, "options": {}}
            write_checkpoint(d, model, "{}", state, moments(model, opt), 0)
            with self.assertRaisesRegex(ResumeError, r"step = -1 is not an integer >= 0"):
                read_checkpoint(d)


class TokenDataTest(unittest.TestCase):
    def write(self, d: str, meta: dict, train_ids: list, val_ids: list) -> None:
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f)
        np.array(train_ids, dtype="<u2").tofile(os.path.join(d, "train.bin"))
        np.array(val_ids, dtype="<u2").tofile(os.path.join(d, "val.bin"))

    def test_reads_and_checks_a_dataset(self) -> None:
        meta = {"format": "primer-ez-tokens", "version": 1, "dtype": "uint16", "vocab_size": 5,
                "train_tokens": 4, "val_tokens": 2, "tokenizer": "tokenizer.json"}
        with tempfile.TemporaryDirectory() as d:
            self.write(d, meta, [0, 1, 2, 3], [4, 9])
            data = TokenData(d)
            self.assertEqual(list(data.train), [0, 1, 2, 3])
            with self.assertRaisesRegex(DataError, r"val.bin holds token 9 at position 1, outside the model's vocabulary \[0, 5\)"):
                data.check_vocab(5)
            self.write(d, {**meta, "train_tokens": 5}, [0, 1, 2, 3], [4])
            with self.assertRaisesRegex(DataError, r"train.bin holds 8 bytes, but meta.json says 5 tokens"):
                TokenData(d)
            self.write(d, {**meta, "format": "text"}, [0], [0])
            with self.assertRaisesRegex(DataError, "not a primer-ez token dataset"):
                TokenData(d)
        with self.assertRaisesRegex(DataError, "primer-ez data prepare"):
            TokenData(os.path.join(tempfile.gettempdir(), "no-such-primer-ez-dataset"))

    def test_window_starts(self) -> None:
        self.assertEqual(window_starts(10, 3), [0, 3, 6])  # 6 + 3 + 1 <= 10
        self.assertEqual(window_starts(9, 3), [0, 3])
        self.assertEqual(window_starts(100, 3, 4), [0, 24, 48, 72])


class FlagsTest(unittest.TestCase):
    def test_config_from_preset_file_and_flags(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "c.json")
            with open(path, "w") as f:
                json.dump({"n_layers": 3, "dconv_init": "uniform"}, f)
            args = train.parse_args(["--data", d, "--preset", "tiny", "--arch", "vanilla", "--config", path, "--d-ff", "48",
                                     "--tie-embeddings", "true"])
            cfg = train.model_config(args, 65)
            self.assertEqual((cfg.d_model, cfg.n_layers, cfg.d_ff, cfg.attention, cfg.tie_embeddings), (32, 3, 48, "mha", True))
            args = train.parse_args(["--data", d, "--n-heads", "5"])
            with self.assertRaisesRegex(train.TrainError, "d_model=128 must be divisible by n_heads=5"):
                train.model_config(args, 65)

    def test_cpu_threads(self) -> None:
        self.assertEqual(cpu_threads(3, {"OMP_NUM_THREADS": "1"}, 8), 3)  # --threads wins
        self.assertIsNone(cpu_threads(None, {"OMP_NUM_THREADS": "2"}, 8))  # torch reads it
        self.assertEqual(cpu_threads(None, {}, 2), 2)
        self.assertEqual(cpu_threads(None, {"LOCAL_WORLD_SIZE": "4"}, 8), 2)
        self.assertEqual(cpu_threads(None, {"LOCAL_WORLD_SIZE": "4"}, 2), 1)
        with self.assertRaises(SystemExit):
            train.parse_args(["--data", ".", "--threads", "0"])

    def test_trainer_options_have_the_typescript_keys(self) -> None:
        args = train.parse_args(["--data", ".", "--preset", "tiny", "--batch-size", "4"])
        o = train.trainer_options(args, train.model_config(args, 10))
        self.assertEqual(set(o), set(train.DEFAULT_OPTIONS) | {"seqLen"})
        self.assertEqual((o["batchSize"], o["seqLen"]), (4, 32))
        self.assertTrue(math.isclose(float(o["beta2"]), 0.98))


if __name__ == "__main__":
    unittest.main()
