"""Calibrate the continuation judge: its collapse rules must never fire on real continuations.

Seeds (1 s) and real continuations (10 s) cut from the built-in corpus and from real music
(/work/realmusic/tracks, or the folder in $REALMUSIC; skipped when absent), decoded directly
(no pipeline run). For each pair: the collapse verdict of the real continuation and of noise
with the seed's spectrum (the `seed_spectrum_noise` baseline), and every 2 s window's texture
gap (beat and pitch above noise coloured like the window). Writes
benchmarks/results/judge_calibration.json.

    python benchmarks/judge_calibration.py [synth songs] [real tracks]
    python benchmarks/judge_calibration.py --rescore    # the same windows, today's margins
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from songcoder.audio.io import load_mono
from songcoder.audio.spectral import power_spectrogram
from songcoder.audio.synth import render_song
from songcoder.evaluate import continuation as C
from songcoder.evaluate.structure import tonal_peaks

SR, SEED_S, CONT_S = 16000, 1.0, 10.0
OUT = Path(__file__).parent / "results" / "judge_calibration.json"


def texture_gaps(seed: np.ndarray, cont: np.ndarray) -> list[tuple[float, float]]:
    """(beat gap, pitch gap) of every 2 s window of cont, every 0.5 s (as collapse_time)."""
    x = np.concatenate([seed, cont]).astype(np.float64)
    S = power_spectrogram(x)
    peaks = tonal_peaks(S, SR)
    centres = (np.arange(len(S)) * C.HOP + C.N_FFT / 2) / SR
    out = []
    for start in range(0, len(cont) - 2 * SR + 1, SR // 2):
        pos = (len(seed) + start) / SR
        w = (centres >= pos) & (centres <= pos + 2.0)
        ref = C.coloured_noise(S[w].mean(axis=0), 2 * SR, np.random.default_rng(0))
        out.append(C.texture_gap(S[w], peaks[w], SR, ref))
    return out


def pairs(n_synth: int, n_real: int, root: Path):
    rng = np.random.default_rng(0)
    for i in range(n_synth):
        x = resample_poly(render_song(i, 0, 24.0, 22050)[0].mean(axis=1), 320, 441)
        a = int(rng.integers(0, len(x) - int((SEED_S + CONT_S) * SR)))
        yield "synth", f"synth-{i}", x[a:a + int(SEED_S * SR)], \
            x[a + int(SEED_S * SR):a + int((SEED_S + CONT_S) * SR)]
    files = sorted(p for p in root.rglob("*") if p.suffix in (".ogg", ".mp3", ".opus"))
    for f in files[:: max(1, len(files) // n_real)][:n_real] if files else []:
        x = load_mono(str(f), SR)
        for frac in (0.3, 0.6):                     # two places in each track
            a = int(frac * (len(x) - int((SEED_S + CONT_S) * SR)))
            yield "real", f"{f.parent.name}/{f.name}@{frac}", x[a:a + int(SEED_S * SR)], \
                x[a + int(SEED_S * SR):a + int((SEED_S + CONT_S) * SR)]


def main() -> None:
    if sys.argv[1:2] == ["--rescore"]:          # new margins, the windows already measured
        write(json.loads(OUT.read_text())["pairs"])
        return
    n_synth = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    n_real = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    root = Path(os.environ.get("REALMUSIC", "/work/realmusic/tracks"))
    rows = []
    for corpus, name, seed, real in pairs(n_synth, n_real, root):
        noise = C.baselines(seed, len(real), 256, np.random.default_rng(0))["seed_spectrum_noise"]
        row = {"corpus": corpus, "name": name}
        for kind, y in (("real", real), ("noise", noise)):
            t, why = C.collapse_time(seed, y, SR)
            row[kind] = {"collapse_s": t, "reason": why,
                         "window_gaps": [[round(b, 3), round(p, 3)] for b, p in texture_gaps(seed, y)]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    write(rows)


def fires(gaps) -> bool:
    """Would the texture rule fire on any of these windows at the current margins?"""
    return any(b <= C.TEXTURE_BEAT_MARGIN and p <= C.TEXTURE_TONAL_MARGIN for b, p in gaps)


def write(rows: list[dict]) -> None:
    summary = {}
    for corpus in ("synth", "real"):
        rs = [r for r in rows if r["corpus"] == corpus]
        if rs:
            summary[corpus] = {
                "pairs": len(rs),
                "real_continuations_collapsed": sum(r["real"]["reason"] != "none" for r in rs),
                "noise_collapsed": sum(r["noise"]["reason"] != "none" for r in rs),
                "real_reasons": sorted({r["real"]["reason"] for r in rs}),
                "texture_fires_on_real": sum(fires(r["real"]["window_gaps"]) for r in rs),
                "texture_fires_on_noise": sum(fires(r["noise"]["window_gaps"]) for r in rs),
                "noise_reasons": sorted({r["noise"]["reason"] for r in rs})}
    OUT.write_text(json.dumps({"margins": {"beat": C.TEXTURE_BEAT_MARGIN,
                                           "pitch": C.TEXTURE_TONAL_MARGIN},
                               "summary": summary, "pairs": rows}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
