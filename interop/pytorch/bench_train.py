"""Training throughput of the PyTorch reference on the CPU, for the side-by-side in BENCHMARKS.md.

Prints one JSON line per model: tokens/s of AdamW training steps (forward, backward, clipping,
update) and of inference (forward only) with the same config, batch and recipe as the TypeScript benchmark
(packages/trainer/bench/train.bench.mjs). Run with Debian's PyTorch:

    /usr/bin/python3 bench_train.py --threads 2 --steps 4

On a GPU (scripts/bench-gpu.mjs runs this for its side-by-side):

    python3 bench_train.py --device cuda --preset medium --batch 16 --steps 5 --no-vanilla
"""
import argparse
import json
import time

import torch

from primer_ez import PrimerEZ, PrimerEZConfig

SMALL = dict(vocab_size=65, d_model=128, n_heads=4, n_layers=4, d_ff=512, max_seq_len=128)
# The `medium` preset of packages/primer-layers (~43 M parameters): a size that fills a GPU.
MEDIUM = dict(vocab_size=65, d_model=768, n_heads=12, n_layers=6, d_ff=3072, max_seq_len=256)
TINY = dict(vocab_size=65, d_model=32, n_heads=4, n_layers=2, d_ff=64, max_seq_len=32)
PRESETS = {"tiny": TINY, "small": SMALL, "medium": MEDIUM}
VANILLA = dict(attention="mha", ffn_activation="relu")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps (the GPU benchmark)")
    parser.add_argument("--no-vanilla", action="store_true", help="only the Primer EZ model")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    arms = [(args.preset, {})] + ([] if args.no_vanilla else [(args.preset + "-vanilla", VANILLA)])
    for name, extra in arms:
        cfg = PrimerEZConfig(**PRESETS[args.preset], **extra)
        model = PrimerEZ(cfg).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=0.01)
        ids = torch.randint(0, cfg.vocab_size, (args.batch, cfg.max_seq_len), device=device)
        targets = torch.randint(0, cfg.vocab_size, (args.batch, cfg.max_seq_len), device=device)

        def sync() -> None:
            if device.type == "cuda":
                torch.cuda.synchronize()
            elif device.type == "mps":
                torch.mps.synchronize()

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
        result = {"model": name, "threads": args.threads, "torch": torch.__version__, "device": str(device)}
        if device.type == "cuda":
            result["gpu"] = torch.cuda.get_device_name(device)
        for key, fn in (("tokens_per_s", step), ("inference_tokens_per_s", forward)):
            fn()  # warm-up
            sync()
            best = float("inf")
            for _ in range(args.steps):
                t0 = time.perf_counter()
                fn()
                sync()
                best = min(best, time.perf_counter() - t0)
            result[key] = tokens / best
        print(json.dumps(result))


if __name__ == "__main__":
    main()
