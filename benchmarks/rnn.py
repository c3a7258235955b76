"""Audio RNN speed: generation realtime factor on one CPU core, training samples/s.

Uses the default `rnn` params (RnnConfig defaults, or params.yaml's `rnn` section with
--params) and small synthetic songs. Writes benchmarks/results/rnn.json and prints it.

    PYTHONPATH=src python benchmarks/rnn.py [--params params.yaml] [--train-steps 8]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from songcoder.atomic import save_json
from songcoder.audio.synth import render_song, write_songs
from songcoder.config import GenerateConfig, RnnConfig, TrainerConfig, load_section
from songcoder.rnn.generate import continue_audio
from songcoder.rnn.model import AudioRNN
from songcoder.rnn.train import model_kwargs, train_rnn


def generation(cfg: RnnConfig, seconds: float, repeats: int) -> dict[str, float]:
    torch.set_num_threads(1)                               # the bar is for one core
    torch.manual_seed(0)
    model = AudioRNN(**model_kwargs(cfg)).eval()           # speed does not depend on weights
    seed = render_song(0, 0, GenerateConfig().seed_seconds, cfg.sample_rate)[0].mean(axis=1)
    continue_audio(model, seed, 0.5, 1.0, np.random.default_rng(0))   # warm-up
    walls = []
    for r in range(repeats):
        t0 = time.perf_counter()
        continue_audio(model, seed, seconds, 1.0, np.random.default_rng(r))
        walls.append(time.perf_counter() - t0)
    best = min(walls)                                      # least disturbed by other processes
    return {"generate_realtime_factor_1core": seconds / best,
            "generate_realtime_factor_1core_median": seconds / float(np.median(walls)),
            "generate_ms_per_frame": 1000 * best / (seconds * cfg.sample_rate / cfg.frame),
            "params": model.n_params()}


def training(cfg: RnnConfig, steps: int, threads: int) -> dict[str, float]:
    torch.set_num_threads(threads)
    cfg = dataclasses.replace(cfg, epochs=1, steps_per_epoch=steps, val_steps=1)
    with tempfile.TemporaryDirectory() as d:
        train = write_songs(Path(d) / "train", 6, 12.0, seed=1)
        val = write_songs(Path(d) / "val", 1, 12.0, seed=2)
        metrics, _ = train_rnn(cfg, TrainerConfig(accelerator="cpu", devices="1"), train, val)
    return {f"train_samples_per_s_{threads}threads": metrics["train_samples_per_s"],
            f"train_audio_seconds_per_s_{threads}threads":
                metrics["train_samples_per_s"] / cfg.sample_rate}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--params", default=None)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-steps", type=int, default=8)
    args = ap.parse_args()
    cfg = load_section("rnn", args.params) if args.params else RnnConfig()
    results = {"config": dataclasses.asdict(cfg)}
    results.update(training(cfg, args.train_steps, threads=2))
    results.update(generation(cfg, args.seconds, args.repeats))
    out = Path(__file__).parent / "results" / "rnn.json"
    save_json(out, results)
    print(json.dumps({k: v for k, v in results.items() if k != "config"}, indent=2))


if __name__ == "__main__":
    main()
