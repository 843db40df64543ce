"""Training throughput of the PyTorch reference on the CPU, for the side-by-side in BENCHMARKS.md.

Prints one JSON line per model: tokens/s of AdamW training steps (forward, backward, clipping,
update) and of inference (forward only) with the same config, batch and recipe as the TypeScript benchmark
(packages/trainer/bench/train.bench.mjs). Run with Debian's PyTorch:

    /usr/bin/python3 bench_train.py --threads 2 --steps 4
"""
import argparse
import json
import time

import torch

from primer_ez import PrimerEZ, PrimerEZConfig

SMALL = dict(vocab_size=65, d_model=128, n_heads=4, n_layers=4, d_ff=512, max_seq_len=128)
VANILLA = dict(attention="mha", ffn_activation="relu")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name, extra in (("small", {}), ("small-vanilla", VANILLA)):
        cfg = PrimerEZConfig(**SMALL, **extra)
        model = PrimerEZ(cfg)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=0.01)
        ids = torch.randint(0, cfg.vocab_size, (args.batch, cfg.max_seq_len))
        targets = torch.randint(0, cfg.vocab_size, (args.batch, cfg.max_seq_len))

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            loss = model.loss(ids, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

        def forward() -> None:
            with torch.no_grad():
                model(ids)

        tokens = args.batch * cfg.max_seq_len
        result = {"model": name, "threads": args.threads, "torch": torch.__version__}
        for key, fn in (("tokens_per_s", step), ("inference_tokens_per_s", forward)):
            fn()  # warm-up
            best = float("inf")
            for _ in range(args.steps):
                t0 = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - t0)
            result[key] = tokens / best
        print(json.dumps(result))


if __name__ == "__main__":
    main()
