"""Speed and accuracy of the song features.

Speed (single process, one thread): seconds of audio per wall second, decode included, on
44.1 kHz stereo songs from the synth written as OGG (vorbis) and WAV; beside it decode alone
and librosa's load + onset_strength + tempo on the same files, in the same run.
Accuracy (--accuracy): tempo Accuracy1/Accuracy2 and downbeat hits on the default synth corpus
(600 songs x 24 s at 22050 Hz, seed 0), plus a few songs through a 44.1 kHz OGG round trip.

    PYTHONPATH=src python benchmarks/features.py [--songs 6] [--accuracy] [--workers 2]

Figures go to benchmarks/results/features.json and are printed.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")     # per-core figures: no hidden threads

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from multiprocessing import Pool  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from songcoder.atomic import save_json  # noqa: E402
from songcoder.audio.synth import render_song  # noqa: E402
from songcoder.features.extract import file_features, song_features  # noqa: E402
from songcoder.features.tempo import tempo_hits  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "features.json"


def _best_rate(fn, paths: list[Path], audio_s: float, repeats: int) -> float:
    """Audio seconds per wall second over all files, best of `repeats` passes."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for p in paths:
            fn(p)
        best = min(best, time.perf_counter() - t)
    return audio_s / best


def speed(songs: int, seconds: float, repeats: int) -> dict:
    out: dict = {"songs": songs, "seconds_per_song": seconds, "sample_rate": 44100,
                 "channels": 2, "repeats": repeats}
    with tempfile.TemporaryDirectory() as tmp:
        files: dict[str, list[Path]] = defaultdict(list)
        for i in range(songs):
            x, _ = render_song(i, 0, seconds, 44100)
            for fmt, sub in (("ogg", "VORBIS"), ("wav", "PCM_16")):
                p = Path(tmp) / f"{i}.{fmt}"
                sf.write(str(p), x, 44100, format=fmt.upper(), subtype=sub)
                files[fmt].append(p)
        audio_s = songs * seconds

        def decode(p):
            return sf.read(str(p), dtype="float32", always_2d=True)

        for fmt, paths in files.items():
            for p in paths:                  # warm caches and lru plans
                file_features(p)
            dec = _best_rate(decode, paths, audio_s, repeats)
            full = _best_rate(file_features, paths, audio_s, repeats)
            decoded = [decode(p) for p in paths]
            t = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                for x, sr in decoded:
                    song_features(x, sr)
                t = min(t, time.perf_counter() - t0)
            out[fmt] = {"decode_x_realtime": round(dec, 1),
                        "decode_plus_features_x_realtime": round(full, 1),
                        "features_only_x_realtime": round(audio_s / t, 1),
                        "features_ms_per_audio_s": round(1000 * t / audio_s, 4)}
        try:
            import librosa

            def lib(p):
                y, sr = librosa.load(str(p))                         # 22050 Hz mono, soxr
                env = librosa.onset.onset_strength(y=y, sr=sr)
                return librosa.feature.tempo(onset_envelope=env, sr=sr)

            lib(files["ogg"][0])                                     # numba warm-up
            for fmt, paths in files.items():
                r = _best_rate(lib, paths, audio_s, max(1, repeats - 1))
                out[fmt]["librosa_load_onset_tempo_x_realtime"] = round(r, 1)
                out[fmt]["ours_over_librosa"] = round(out[fmt]["decode_plus_features_x_realtime"] / r, 2)
        except ImportError:
            out["librosa"] = "not installed"
    return out


def _one(args: tuple[int, float, int]) -> tuple[int, dict, float, float]:
    i, seconds, sr = args
    x, lab = render_song(i, 0, seconds, sr)
    f = song_features(x, sr)
    return i, lab, f.tempo_bpm, f.bar_phase_s


def accuracy(songs: int, seconds: float, sr: int, workers: int, ogg_songs: int) -> dict:
    jobs = [(i, seconds, sr) for i in range(songs)]
    with Pool(workers) as pool:
        res = pool.map(_one, jobs, chunksize=8)
    labels = [r[1] for r in res]
    est = np.array([r[2] for r in res])
    truth = np.array([lab["tempo"] for lab in labels])
    hit1, hit2 = tempo_hits(est, truth)
    bar = 4 * 60.0 / truth
    err = (np.array([r[3] for r in res]) - np.array([lab["downbeat_s"] for lab in labels])
           + bar / 2) % bar - bar / 2
    down = hit1 & (np.abs(err) < bar / 32)                           # within a 32nd note
    by_style: dict = defaultdict(list)
    for lab, h in zip(labels, hit1):
        by_style[lab["style"]].append(bool(h))
    out = {"songs": songs, "seconds": seconds, "sample_rate": sr, "seed": 0,
           "acc1": round(float(hit1.mean()), 4), "acc2": round(float(hit2.mean()), 4),
           "downbeat_acc_given_tempo": round(float(down.sum() / max(hit1.sum(), 1)), 4),
           "downbeat_median_abs_err_ms": round(float(np.median(np.abs(err[down])) * 1000), 2),
           "acc1_by_style": {k: round(float(np.mean(v)), 3) for k, v in sorted(by_style.items())},
           "misses": [{"index": int(i), "style": labels[i]["style"], "pattern": labels[i]["pattern"],
                       "tempo": float(truth[i]), "estimate": round(float(est[i]), 2)}
                      for i in np.flatnonzero(~hit1)]}
    # a few songs through a 44.1 kHz OGG round trip
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(ogg_songs):
            x, lab = render_song(i, 0, seconds, 44100)
            p = Path(tmp) / f"{i}.ogg"
            sf.write(str(p), x, 44100, format="OGG", subtype="VORBIS")
            f = file_features(p)
            rows.append((lab["tempo"], f.tempo_bpm))
    t, e = np.array(rows).T
    h1, h2 = tempo_hits(e, t)
    out["ogg_44k"] = {"songs": ogg_songs, "acc1": round(float(h1.mean()), 4),
                      "acc2": round(float(h2.mean()), 4)}
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=6, help="songs for the speed test")
    ap.add_argument("--seconds", type=float, default=30.0, help="song length for the speed test")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--accuracy", action="store_true", help="also run the 600-song tempo check")
    ap.add_argument("--corpus-songs", type=int, default=600)
    ap.add_argument("--workers", type=int, default=2, help="processes for the accuracy run")
    ap.add_argument("--ogg-songs", type=int, default=24)
    args = ap.parse_args(argv)
    results: dict = {"machine": {"python": sys.version.split()[0], "numpy": np.__version__,
                                 "cpu": platform.processor() or platform.machine(),
                                 "cores": os.cpu_count()}}
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["speed"] = speed(args.songs, args.seconds, args.repeats)
    if args.accuracy:
        results["accuracy"] = accuracy(args.corpus_songs, 24.0, 22050, args.workers, args.ogg_songs)
    elif "accuracy" in old:
        results["accuracy"] = old["accuracy"]                        # keep the last full run
    save_json(RESULTS, results)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
