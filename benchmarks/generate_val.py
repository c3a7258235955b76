"""Tune `generate` on the validation split, so the test songs are looked at once.

Continues `--count` songs of `--split` (val by default) of a project run (`--root`: its
data/manifest.csv, data/features, models/rnn.pt, models/sdae.pt) exactly as the `generate`
stage does, and judges them with `evaluate.generation`, `encoder_top1` over that split's
songs' codes (the stage: the test songs'). The real continuation and the baselines do not
depend on the model: they are computed once per (split, count, seed_seconds, seconds) and
cached beside the output. Also reports, per song-vector group (features/layout.py), the mean
squared distance of each continuation's normalised vector from its whole song's, which is
what decides `encoder_top1`.

    PYTHONPATH=src python benchmarks/generate_val.py --out benchmarks/results/generate_val.json \
        [--root .] [--count 40] [--seed-seconds 8] [--set rep.max_run_seconds=1.0]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from songcoder.atomic import save_json
from songcoder.audio.collection import read_manifest
from songcoder.audio.io import load_mono
from songcoder.audio.spectral import power_db, power_spectrogram
from songcoder.config import GenerateConfig, PrepareConfig, load_section
from songcoder.evaluate.generation import REAL, SongCodeJudge, judge, judge_all, summarise
from songcoder.features.extract import song_features
from songcoder.features.layout import GROUPS
from songcoder.features.norm import normalise
from songcoder.rnn.generate import continue_audio
from songcoder.rnn.model import load


def two_panels(path: Path, seed: np.ndarray, gen: np.ndarray, real: np.ndarray, sr: int,
               name: str) -> None:
    """Seed + the model's continuation above seed + the real one (the README's pictures)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    t = f"{len(gen) / sr:g} s"
    for ax, cont, what in ((axes[0], gen, f"{t} by the pointer RNN"), (axes[1], real, f"the real {t}")):
        x = np.concatenate([seed, cont])
        ax.imshow(power_db(power_spectrogram(x)).T, origin="lower", aspect="auto",
                  cmap="magma", extent=(0, len(x) / sr, 0, sr / 2000))
        ax.axvline(len(seed) / sr, color="cyan", linestyle="--")
        ax.set_title(f"{name}: {len(seed) / sr:g} s seed + {what}", fontsize=10)
        ax.set_ylabel("kHz")
    axes[1].set_xlabel("time (s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=".")
    ap.add_argument("--split", default="val")
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--seed-seconds", type=float)
    ap.add_argument("--temperature", type=float)
    ap.add_argument("--model", help="default: <root>/models/rnn.pt")
    ap.add_argument("--set", action="append", default=[],
                    help="rep.<attr>=<float>: a sampler attribute of the loaded model")
    ap.add_argument("--pictures", help="a folder: seed + continuation spectrogram per song")
    ap.add_argument("--only", help="only the songs whose path contains this (same seeds)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    root = Path(args.root)
    params = root / "params.yaml"
    prepare = load_section("prepare", params) if params.exists() else PrepareConfig()
    cfg = load_section("generate", params) if params.exists() else GenerateConfig()
    seed_s = args.seed_seconds or cfg.seed_seconds
    temperature = cfg.temperature if args.temperature is None else args.temperature
    manifest = read_manifest(root / "data" / "manifest.csv")
    feats = root / "data" / "features"
    judge_split = SongCodeJudge.from_files(root / "models" / "sdae.pt", feats, manifest, prepare,
                                           split=args.split, root=root)
    rows = np.load(feats / f"{args.split}.npy")             # normalised by prepare
    feature_kw = judge_split.feature_kw
    model = load(args.model or root / "models" / "rnn.pt")
    for kv in args.set:
        k, v = kv.split("=")
        setattr(model.rep, k.removeprefix("rep."), float(v))
    sr, frame = model.sample_rate, model.frame
    stats = judge_split.encoder
    cache = Path(args.out).with_name(
        f"generate_val.refs.{root.resolve().name}.{args.split}.{args.count}.{seed_s:g}.json")
    refs = json.loads(cache.read_text()) if cache.exists() else {}
    per_song, groups, wall, made = {}, {g: {} for g in GROUPS}, 0.0, 0.0
    for i, path in enumerate(judge_split.paths[: args.count]):
        if args.only and args.only not in path:
            continue
        audio = load_mono(path, sr)
        seed_n, cont_n = round(seed_s * sr), round(cfg.seconds * sr)
        if len(audio) < seed_n + cont_n:
            continue
        rng = np.random.default_rng([cfg.seed, i])
        start = int(rng.integers(0, len(audio) - seed_n - cont_n + 1))
        seed, real = audio[start:start + seed_n], audio[start + seed_n:start + seed_n + cont_n]
        t0 = time.perf_counter()
        gen = continue_audio(model, seed, cfg.seconds, temperature, rng, cfg.phase_jitter,
                             feature_kw)
        wall += time.perf_counter() - t0
        made += cfg.seconds
        if args.pictures:
            two_panels(Path(args.pictures) / f"{Path(path).stem}.png", seed, gen, real, sr,
                       Path(path).stem)
        song_bpm = song_features(audio, sr, **feature_kw).tempo_bpm
        row = judge(seed, gen, real, sr, song_bpm=song_bpm, feature_kw=feature_kw,
                    encoder=judge_split, path=path)
        if path not in refs:
            refs[path] = judge_all(seed, None, real, audio, sr, frame, np.random.default_rng(i),
                                   feature_kw=feature_kw, encoder=judge_split, path=path)
        per_song[path] = {**row, **refs[path]}
        # which vector groups put each continuation far from its own song
        own = rows[i]
        for name, x in (("model", gen), (REAL, real),
                        ("loop_seed", np.tile(seed, -(-cont_n // seed_n))[:cont_n])):
            v = normalise(song_features(x, sr, **feature_kw).vector[None],
                          stats.mean, stats.std)[0]
            for g, sl in GROUPS.items():
                groups[g].setdefault(name, []).append(float(((v[sl] - own[sl]) ** 2).mean()))
        print(f"{i + 1}/{args.count} {Path(path).name}: top1 {row['encoder_top1']} "
              f"(real {refs[path][REAL + '_encoder_top1']}) chroma {row['chroma_corr']}",
              flush=True)
    cache.write_text(json.dumps(refs))
    keys = ("encoder_top1", "onset_periodicity", "tempo_match", "chroma_corr", "tonality",
            "lsd_db", "copy_score", "time_to_collapse_s", "collapse_reason")
    out = {"split": args.split, "songs": len(per_song), "seed_seconds": seed_s,
           "temperature": temperature, "set": args.set, "realtime_factor": made / wall,
           **summarise(list(per_song.values())),
           "group_sq_distance": {g: {k: float(np.mean(v)) for k, v in d.items()}
                                 for g, d in groups.items()},
           "per_song": {Path(p).name: {k: v for k, v in r.items() if k in keys}
                        for p, r in per_song.items()}}
    save_json(args.out, out)
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"   # noqa: E731
    for name, figs in (("model", out), *out["baselines"].items()):
        print(f"{name:20s}", " ".join(f"{k[:8]} {fmt(figs[k])}" for k in keys[:-1]))
    print("group sq distance from own song:", json.dumps(out["group_sq_distance"]))


if __name__ == "__main__":
    main()
