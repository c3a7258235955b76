"""Scale: a 20,000-song synthetic collection through the real ingest and prepare code, then the
autoencoder stages (pretrain 1-3 + finetune) on the result, with throughput and peak memory.

    PYTHONPATH=src python benchmarks/scale.py [--songs 20000] [--small 2000] [--seconds 5]
                                              [--workers 2] [--epochs 3]

Ingest and prepare run once at --small songs and once at --songs in the same run, so the peak
memory of the two sizes can be compared (bounded memory: it must not grow with the song count
beyond the feature matrix itself, ~6 KB a song). Each step is its own process, so its peak is
its own: `peak_rss_tree_mb` samples the whole process tree (the step and its workers) with
psutil every 0.1 s; `peak_rss_largest_mb` is getrusage's high-water mark of the largest single
process (SELF or CHILDREN), which needs nothing installed. Writes benchmarks/results/scale.json
and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"


def _maxrss_mb() -> float:
    """Largest single-process peak of this process and its waited-for children (Linux: KiB)."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


# ----------------------------------------------------------------------------- steps (children)


def step_ingest(n: int, seconds: float, workers: int, work: Path) -> dict:
    from songcoder.config import DataConfig
    from songcoder.ingest import ingest

    cfg = DataConfig(source="synth", songs=n, seconds=seconds, min_seconds=min(4.0, seconds),
                     workers=workers)
    t0 = time.perf_counter()
    r = ingest(cfg, audio_dir=work / "audio", manifest=work / "manifest.csv",
               skipped=work / "skipped.csv")
    wall = time.perf_counter() - t0
    return {"songs": r.metrics["songs"], "skipped": r.metrics["skipped"], "wall_s": round(wall, 1),
            "songs_per_s": round(r.metrics["songs"] / wall, 2)}


def step_prepare(workers: int, work: Path) -> dict:
    from songcoder.audio.collection import read_manifest
    from songcoder.config import PrepareConfig
    from songcoder.prepare import prepare

    rows = read_manifest(work / "manifest.csv")
    t0 = time.perf_counter()
    r = prepare(PrepareConfig(workers=workers), rows, work / "features")
    wall = time.perf_counter() - t0
    m = r.metrics
    return {"songs": m["songs"], "skipped": m["skipped"], "wall_s": round(wall, 1),
            "songs_per_s": round(m["songs"] / wall, 2), "realtime_factor": m["realtime_factor"],
            "tempo_acc1": m.get("tempo_acc1"), "tempo_acc2": m.get("tempo_acc2"),
            "features_mb": round(sum((work / "features" / f"{s}.npy").stat().st_size
                                     for s in ("train", "val", "test")) / 2**20, 1)}


def step_sdae(epochs: int, work: Path) -> dict:
    import logging

    import numpy as np
    import torch

    from songcoder.config import SdaeConfig, TrainerConfig
    from songcoder.sdae import train as sdae
    from songcoder.sdae.serving import encode

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    x = {s: np.load(work / "features" / f"{s}.npy", mmap_mode="r") for s in ("train", "val")}
    cfg = SdaeConfig(pretrain_epochs=epochs, finetune_epochs=epochs)
    tcfg = TrainerConfig(accelerator="cpu")
    kw = dict(enable_progress_bar=False)
    out: dict = {"train_songs": int(len(x["train"])), "val_songs": int(len(x["val"])),
                 "epochs": epochs, "torch_threads": torch.get_num_threads()}
    a, b, layers = x["train"], x["val"], []
    for k in (1, 2, 3):
        t0 = time.perf_counter()
        metrics, layer = sdae.pretrain_layer(cfg, tcfg, k, a, b, **kw)
        wall = time.perf_counter() - t0
        out[f"pretrain_{k}"] = {"wall_s": round(wall, 1),
                                "samples_per_s": round(epochs * len(a) / wall, 1),
                                "val_rel_error": round(metrics["val/rel_error"], 4),
                                "peak_rss_mb": round(_maxrss_mb(), 1)}
        layers.append(layer)
        a, b = encode(layer, a), encode(layer, b)
    t0 = time.perf_counter()
    metrics, _ = sdae.finetune(cfg, tcfg, layers, x["train"], x["val"], **kw)
    wall = time.perf_counter() - t0
    out["finetune"] = {"wall_s": round(wall, 1),
                       "samples_per_s": round(epochs * len(x["train"]) / wall, 1),
                       "val_rel_error": round(metrics["val/rel_error"], 4),
                       "peak_rss_mb": round(_maxrss_mb(), 1)}
    return out


STEPS = {"ingest": lambda a: step_ingest(a.n, a.seconds, a.workers, Path(a.work)),
         "prepare": lambda a: step_prepare(a.workers, Path(a.work)),
         "sdae": lambda a: step_sdae(a.epochs, Path(a.work))}


# ----------------------------------------------------------------------------- parent


def run_step(name: str, args: argparse.Namespace, work: Path, n: int = 0) -> dict:
    """Run one step in its own process; sample its whole tree's RSS while it runs."""
    try:
        import psutil
    except ImportError:
        psutil = None
    cmd = [sys.executable, __file__, "--step", name, "--work", str(work), "--n", str(n),
           "--seconds", str(args.seconds), "--workers", str(args.workers),
           "--epochs", str(args.epochs)]
    out_file = work / f"{name}.json"
    with open(work / f"{name}.log", "w") as log:
        proc = subprocess.Popen(cmd + ["--out", str(out_file)], stdout=log, stderr=log)
        peak, samples = 0, 0
        tree = psutil.Process(proc.pid) if psutil else None
        while proc.poll() is None:
            if tree is not None:
                try:
                    rss = sum(p.memory_info().rss for p in [tree, *tree.children(recursive=True)])
                    peak, samples = max(peak, rss), samples + 1
                except psutil.Error:  # a worker exited between listing and reading
                    pass
            time.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit(f"step {name} failed ({proc.returncode}); see {work / (name + '.log')}:\n"
                         + (work / f"{name}.log").read_text()[-3000:])
    result = json.loads(out_file.read_text())
    if tree is not None:
        result["peak_rss_tree_mb"] = round(peak / 2**20, 1)
        result["rss_samples"] = samples
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=20_000)
    ap.add_argument("--small", type=int, default=2_000, help="smaller run to compare memory with")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each synthetic song")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3, help="per pretrain stage and finetune")
    ap.add_argument("--work", default="", help="working folder (default: a temp folder, removed)")
    ap.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.step:  # child: one step, its result as JSON
        result = STEPS[args.step](args)
        result["peak_rss_largest_mb"] = round(_maxrss_mb(), 1)
        Path(args.out).write_text(json.dumps(result))
        return

    os.environ.setdefault("CI", "1")  # no progress bars in the logs
    root = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="songcoder-scale-"))
    report: dict = {"config": {"songs": args.songs, "small": args.small, "seconds": args.seconds,
                               "workers": args.workers, "epochs": args.epochs,
                               "cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg(),
                               "python": platform.python_version()}, "runs": {}}
    t_all = time.perf_counter()
    try:
        for n in sorted({args.small, args.songs} - {0}):
            work = root / f"n{n}"
            work.mkdir(parents=True, exist_ok=True)
            run = {"ingest": run_step("ingest", args, work, n),
                   "prepare": run_step("prepare", args, work)}
            if n == args.songs:
                run["sdae"] = run_step("sdae", args, work)
            report["runs"][str(n)] = run
            shutil.rmtree(work / "audio", ignore_errors=True)  # ~0.3 MB a song
            print(json.dumps({n: run}), flush=True)
        runs = report["runs"]
        if len(runs) == 2:  # memory per extra song, between the two sizes
            (n0, r0), (n1, r1) = sorted(((int(k), v) for k, v in runs.items()))
            key = "peak_rss_tree_mb" if "peak_rss_tree_mb" in r0["ingest"] else "peak_rss_largest_mb"
            report["memory_growth_kb_per_song"] = {
                step: round((r1[step][key] - r0[step][key]) * 1024 / (n1 - n0), 2)
                for step in ("ingest", "prepare")}
            report["memory_growth_measure"] = key
    finally:
        if not args.work:
            shutil.rmtree(root, ignore_errors=True)
    report["config"]["load_avg_at_end"] = os.getloadavg()
    report["wall_s"] = round(time.perf_counter() - t_all, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    from songcoder.atomic import save_json
    save_json(RESULTS, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
