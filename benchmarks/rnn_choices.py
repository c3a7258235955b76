"""Seed 002's RNN choices, measured: each trained from the current defaults with one change,
two training seeds each, and its continuations of VAL songs judged by the project's judge.

    PYTHONPATH=src nice -n 10 python benchmarks/rnn_choices.py [--epochs 4] [--songs 5]
        [--seconds 6] [--manifest data/manifest.csv]     # ~30 min on a busy 2-core machine
    PYTHONPATH=src python benchmarks/rnn_choices.py --report    # the table again from the JSON

Variants (params.yaml's `rnn` section is the base): `rnn.batching` random, `rnn.cell` gru,
`rnn.optimizer` rmsprop, and `rnn.representation` time_mse / spectral / mulaw. Every run trains with the
same shrunk schedule (`--epochs` x the default steps per epoch) and continues the same val
songs from the same 1 s seeds (`generate.seed` fixed), so the seeds' spread is the training
seed's. `train_rnn` and `generate_all` are the stages' own library calls. `encoder_top1` is
left out: it needs a trained song encoder (`models/sdae.pt`) and codes only test songs.

Without the manifest (no `make run` here) the built-in corpus is rendered with params.yaml's
`data` section, exactly as the `ingest` stage would, into --corpus.
Writes benchmarks/results/rnn_choices.{json,md}; the JSON after every run, so a stop keeps the
finished runs, and a rerun with the same settings skips them.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import json  # noqa: E402

import torch  # noqa: E402

from songcoder.atomic import save_json, save_text  # noqa: E402
from songcoder.audio.collection import read_manifest  # noqa: E402
from songcoder.config import GenerateConfig, TrainerConfig, load_section  # noqa: E402
from songcoder.rnn import train as rnn_train  # noqa: E402
from songcoder.rnn.data import SongStore  # noqa: E402
from songcoder.rnn.generate import generate_all  # noqa: E402

OUT = ROOT / "benchmarks" / "results"
# one change at a time from params.yaml's `rnn` section
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "batching=random": {"batching": "random"},
    "cell=gru": {"cell": "gru"},
    "optimizer=rmsprop": {"optimizer": "rmsprop"},
    "representation=time_mse": {"representation": "time_mse"},
    "representation=spectral": {"representation": "spectral"},
    # the full mulaw head is (B, T, 256 samples, 256 levels) logits per window; scoring 1/8 of
    # the steps (an unbiased estimate, params.yaml's own advice) keeps it in the CPU budget
    "representation=mulaw": {"representation": "mulaw", "head_fraction": 0.125},
}
FIGURES = ("time_to_collapse_s", "lsd_db", "onset_periodicity", "tempo_match", "chroma_corr",
           "tonality", "copy_score", "energy_modulation_db", "spectral_flatness")


def commit() -> str:
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "benchmarks/rnn_choices.py"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return rev.stdout.strip() + ("+dirty" if dirty else "")


def built_in_corpus(folder: Path, params: Path) -> Path:
    """Render the built-in corpus as the `ingest` stage would (once) and return its manifest."""
    from songcoder.ingest import ingest

    manifest = folder / "manifest.csv"
    if not manifest.exists():
        cfg = dataclasses.replace(load_section("data", params), workers=1)
        ingest(cfg, audio_dir=folder / "audio", manifest=manifest, skipped=folder / "skipped.csv")
    return manifest


def resolve(path: str, manifest: Path) -> str:
    """Manifest paths are relative to where ingest ran: the repo root for DVC's
    data/manifest.csv, the corpus folder for `built_in_corpus`."""
    for base in (Path(), manifest.parent, manifest.parent.parent):
        if (base / path).exists():
            return str(base / path)
    return path                      # load_mono names the missing file


class SharedStores:
    """Every run decodes the same songs at the same rate; decode them once (`train_rnn` builds a
    SongStore per call, ~1000 songs, which would cost more CPU than a shrunk training run)."""

    def __init__(self, folder: Path):
        self.folder, self.stores = folder, {}

    def __call__(self, paths, sample_rate, path, workers=2):
        key = (tuple(paths), sample_rate)
        if key not in self.stores:
            self.stores[key] = SongStore(paths, sample_rate, self.folder / f"{len(self.stores)}.f32",
                                         workers=workers)
        return self.stores[key]


def one_run(cfg, gen_cfg: GenerateConfig, songs: dict[str, list[str]], out_dir: Path) -> dict:
    t0 = time.perf_counter()
    train_metrics, model = rnn_train.train_rnn(cfg, TrainerConfig(accelerator="cpu", devices="1"),
                                               songs["train"], songs["val"])
    t1 = time.perf_counter()
    gen, _ = generate_all(model, gen_cfg, songs["val"], out_dir)
    per_song = gen.pop("per_song")
    baselines = gen.pop("baselines")
    return {
        "train": {k: train_metrics[k] for k in ("val/loss", "train/loss", "train_steps", "params")},
        "train_wall_s": t1 - t0, "generate_wall_s": time.perf_counter() - t1,
        "model": {k: gen.get(k) for k in (*FIGURES, "time_to_collapse_s_min")},
        "collapse": {name: [row["time_to_collapse_s"], row["collapse_reason"]]
                     for name, row in per_song.items()},
        "baselines": {k: {f: v.get(f) for f in FIGURES} for k, v in baselines.items()},
        "nll_bits_per_sample": gen.get("nll_bits_per_sample"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--manifest", default=str(ROOT / "data" / "manifest.csv"))
    ap.add_argument("--corpus", default="/tmp/rnncomp-corpus",
                    help="where to render the built-in corpus when --manifest does not exist")
    ap.add_argument("--epochs", type=int, default=4, help="of the default steps per epoch")
    ap.add_argument("--songs", type=int, default=5, help="val songs continued per run")
    ap.add_argument("--seconds", type=float, default=6.0, help="continuation length")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--report", action="store_true", help="only rewrite the .md from the JSON")
    args = ap.parse_args()
    out = OUT / "rnn_choices.json"
    if args.report:
        save_text(OUT / "rnn_choices.md", report(json.loads(out.read_text())))
        return
    torch.set_num_threads(args.threads)

    manifest = Path(args.manifest)
    if not manifest.exists():
        manifest = built_in_corpus(Path(args.corpus), Path(args.params))
    rows = read_manifest(manifest)
    songs = {s: [resolve(r["path"], manifest) for r in rows if r["split"] == s]
             for s in ("train", "val")}
    base = dataclasses.replace(load_section("rnn", args.params), epochs=args.epochs)
    gen_cfg = dataclasses.replace(load_section("generate", args.params), count=args.songs,
                                  seconds=args.seconds)
    settings = {"manifest": str(manifest), "train_songs": len(songs["train"]),
                "val_songs": len(songs["val"]), "epochs": args.epochs,
                "steps_per_epoch": base.steps_per_epoch, "seeds": args.seeds,
                "threads": args.threads, "base": dataclasses.asdict(base),
                "generate": dataclasses.asdict(gen_cfg), "variants": VARIANTS}
    results = json.loads(out.read_text()) if out.exists() else {}
    if results.get("settings") != settings:
        results = {"settings": settings, "runs": {}}
    results["commit"] = commit()

    with tempfile.TemporaryDirectory(prefix="rnn-choices-") as tmp:
        rnn_train.SongStore = SharedStores(Path(tmp))
        for name in args.variants:
            for seed in args.seeds:
                key = f"{name} seed={seed}"
                if key in results["runs"]:
                    continue
                cfg = dataclasses.replace(base, seed=seed, **VARIANTS[name])
                run = one_run(cfg, gen_cfg, songs, Path(tmp) / "gen")
                results["runs"][key] = {"variant": name, "seed": seed, "commit": results["commit"],
                                        **run}
                save_json(out, results)
                m = run["model"]
                print(f"{key}: train {run['train_wall_s']:.0f} s, generate "
                      f"{run['generate_wall_s']:.0f} s; collapse {m['time_to_collapse_s']:.2f} s "
                      f"({', '.join(r for _, r in run['collapse'].values())}), lsd "
                      f"{m['lsd_db']:.1f} dB", flush=True)
    save_text(OUT / "rnn_choices.md", report(results))
    print(report(results))


def _fmt(values: list) -> str:
    """Mean over seeds ± half their range ('–' when undefined)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return "–"
    mean, half = sum(vals) / len(vals), (max(vals) - min(vals)) / 2
    return f"{mean:.2f} ± {half:.2f}" if len(vals) > 1 else f"{mean:.2f}"


def report(results: dict) -> str:
    """Markdown table: one column per variant (mean over seeds ± half the spread), the real
    continuation and seed-spectrum noise of the same songs beside them."""
    runs = results["runs"].values()
    names = [n for n in VARIANTS if any(r["variant"] == n for r in runs)]
    by = {n: [r for r in runs if r["variant"] == n] for n in names}
    first = next(iter(runs))["baselines"]
    head = names + ["real continuation", "seed-spectrum noise"]
    lines = ["| figure | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for f in FIGURES:
        cells = [_fmt([r["model"][f] for r in by[n]]) for n in names]
        cells += [_fmt([first[b][f]]) for b in ("real_continuation", "seed_spectrum_noise")]
        lines.append(f"| `{f}` | " + " | ".join(cells) + " |")
    reasons = []
    for n in names:
        counts: dict[str, int] = {}
        for r in by[n]:
            for _, why in r["collapse"].values():
                counts[why] = counts.get(why, 0) + 1
        reasons.append(", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))
    lines.append("| collapse reasons (songs × seeds) | " + " | ".join(reasons) + " | | |")
    lines.append("| val loss (own units) | " + " | ".join(
        _fmt([r["train"]["val/loss"] for r in by[n]]) for n in names) + " | | |")
    # the first run also decodes the corpus (once, shared by every later run)
    lines.append("| train wall s (first run: + decoding) | " + " | ".join(
        _fmt([r["train_wall_s"] for r in by[n]]) for n in names) + " | | |")
    s = results["settings"]
    return (f"Commit {results['commit']}; {s['epochs']} epochs x {s['steps_per_epoch']} steps "
            f"(every variant), seeds {s['seeds']}, {s['generate']['count']} val songs x "
            f"{s['generate']['seconds']:g} s after a {s['generate']['seed_seconds']:g} s seed; "
            f"mean ± half the spread over seeds.\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
