"""Continue held-out songs from a seed, and judge the continuations.

Collapse test (`collapse_time`). The continuation is scanned with a window of
`window` s (1.0) every `hop` s (0.1); the collapse time is the start of the first window, in
seconds after the seed, that is
- silent: its RMS is under 10 % of the seed's RMS;
- a loop: the window's waveform correlates at >= 0.98 (normalised) with the audio (seed
  included) 2 ms to 1 s earlier - exact repetition, which a model stuck in a cycle produces
  and played music almost never does;
- noise (it has dissolved into hiss): its mean spectral flatness (`structure.py`) is more
  than halfway from the seed's to white noise's (about 0.56). Music keeps the flatness of
  its seed within a few hundredths (1 s windows of the default data's real continuations:
  0.006-0.17, seeds 0.007-0.12); a model that has lost the notes and drums produces a
  broadband hiss near 0.56. Noise coloured like the seed is not caught here (its flatness
  is the seed's), nor by the static test (it moves exactly as noise does);
  `energy_modulation_db` and `onset_periodicity` in the metrics expose it;
- static (a fixed point, a held tone, a steady texture): over `static_window` s (2.0) its
  spectral envelope moves less than steady noise would - the mean absolute change in dB of
  16 log-spaced band energies between STFT frames 4 hops apart (1024-point Hann, hop 256:
  64 ms at 16 kHz) is under 75 % of that of Gaussian noise with the window's own average
  spectrum (counting the frames that are not silent, when they are more than half of the
  window). Bands, not bins: a drone whose phases are redrawn every frame makes every *bin*
  flicker by several dB while nothing audible changes; band energies average the flicker out
  but still move with every note and drum hit. On 150 real continuations of the default
  data (val/test songs) the smallest ratio over 2 s windows is 0.92 (median 1.51); the
  earlier steady-drone model's outputs gave 0.63-0.64.
The tests run in that order (most specific first). A continuation that never collapses gets
its full length. The same test is run on the real continuation (`real`) to show what it says
about actual music.

LSD (`lsd_db`): per STFT frame (1024-point Hann, hop 256), the RMS over bins of the
difference in dB between the two power spectra, each floored 80 dB under the reference's
peak (so a null in one spectrum costs at most 80 dB); averaged over frames. The continuation
is not expected to match the real one sample by sample: LSD measures whether the right
sounds, at the right loudness, are there at about the right times.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from songcoder.atomic import atomic_path
from songcoder.audio.collection import file_names
from songcoder.audio.io import AudioError, load_mono, write
from songcoder.config import GenerateConfig
from songcoder.rnn import mulaw
from songcoder.rnn.model import AudioRNN
from songcoder.rnn.structure import (HOP, N_FFT, frame_flatness, power_spectrogram,
                                     structure_figures)

TOP_DB = 80.0
WHITE_FLATNESS = 0.5615       # exp(-Euler gamma): flatness of an exponential periodogram


def min_seed_samples(model: AudioRNN) -> int:
    """A logmag model hears grains of two frames; the others single frames."""
    return model.frame * (2 if model.output == "logmag" else 1)


def continue_audio(model: AudioRNN, seed: np.ndarray, seconds: float, temperature: float,
                   rng: np.random.Generator, phase_jitter: float = 0.6) -> np.ndarray:
    """Generate `seconds` of audio after `seed` (mono, at model.sample_rate)."""
    frame = model.frame
    n = len(seed) // frame * frame                       # whole frames, ending at the seed's end
    if n < min_seed_samples(model):
        raise ValueError(f"seed too short ({len(seed)} < {min_seed_samples(model)} samples)")
    frames = torch.from_numpy(np.ascontiguousarray(seed[len(seed) - n:], np.float32))
    steps = math.ceil(seconds * model.sample_rate / frame)
    g = torch.Generator().manual_seed(int(rng.integers(1 << 31)))
    # One frame per step is too small to split across threads: on CPU more threads only add
    # synchronisation (measured 3x slower with 2 threads than with 1 on a 2-core machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = model.generate(frames.view(1, -1, frame), steps, temperature, g,
                             phase_jitter=phase_jitter)                # (1, steps, frame)
    finally:
        torch.set_num_threads(threads)
    return out.reshape(-1)[: round(seconds * model.sample_rate)].numpy()


# ----------------------------------------------------------------------------- measures


def _db(p: np.ndarray, floor: float) -> np.ndarray:
    return 10 * np.log10(np.maximum(p, floor))


def lsd_db(est: np.ndarray, ref: np.ndarray) -> float:
    """Log-spectral distance in dB between `est` and the reference `ref` (same length)."""
    n = min(len(est), len(ref))
    P, R = power_spectrogram(est[:n]), power_spectrogram(ref[:n])
    floor = max(R.max(), 1e-20) * 10 ** (-TOP_DB / 10)
    d = _db(P, floor) - _db(R, floor)
    return float(np.sqrt((d ** 2).mean(axis=1)).mean())


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


BANDS, MOTION_LAG = 16, 4      # the static test: log-spaced bands, frames apart


def band_power(S: np.ndarray) -> np.ndarray:
    """(frames, bins) power -> (frames, <= BANDS) energies of log-spaced bands."""
    edges = np.unique(np.geomspace(1, S.shape[1], BANDS + 1).astype(int))
    return np.add.reduceat(S, edges[:-1], axis=1)


def band_motion(S: np.ndarray) -> float:
    """Mean absolute dB change of band energies MOTION_LAG frames apart (floored 80 dB under
    the loudest band) of a power spectrogram (frames, bins)."""
    if len(S) <= MOTION_LAG:
        return 0.0
    B = band_power(S)
    B_db = _db(B, max(B.max(), 1e-20) * 10 ** (-TOP_DB / 10))
    return float(np.abs(B_db[MOTION_LAG:] - B_db[:-MOTION_LAG]).mean())


def coloured_noise(psd: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of Gaussian noise whose power spectrum has the shape of `psd` (any length)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.linspace(0, 1, len(spec))
    return np.fft.irfft(spec * np.sqrt(np.interp(f, np.linspace(0, 1, len(psd)), psd)), n)


def _max_loop_corr(x: np.ndarray, pos: int, w: int, lag_min: int, lag_max: int) -> float:
    """max over L in [lag_min, lag_max] of corr(x[pos:pos+w], x[pos-L:pos-L+w])."""
    lag_max = min(lag_max, pos)
    if lag_max < lag_min:
        return 0.0
    win = x[pos:pos + w]
    past = x[pos - lag_max: pos + w - lag_min]           # holds every lagged copy
    nfft = 1 << int(np.ceil(np.log2(len(past) + w)))
    # dot[j] = sum_n win[n] * past[j + n]; lag L corresponds to j = lag_max - L
    dot = np.fft.irfft(np.fft.rfft(past, nfft) * np.conj(np.fft.rfft(win, nfft)), nfft)
    j = np.arange(0, lag_max - lag_min + 1)
    c = np.concatenate([[0.0], np.cumsum(past ** 2)])
    energy = c[j + w] - c[j]
    denom = np.sqrt(energy * (win ** 2).sum()) + 1e-12
    return float((dot[j] / denom).max())


def collapse_time(seed: np.ndarray, cont: np.ndarray, sr: int, *, window: float = 1.0,
                  hop: float = 0.1, silence: float = 0.1, static: float = 0.75,
                  static_window: float = 2.0,
                  loop_corr: float = 0.98, lag_min: float = 0.002,
                  lag_max: float = 1.0, noise: float = 0.5) -> tuple[float, str]:
    """(seconds after the seed at which `cont` collapses, reason); see the module docstring."""
    x = np.concatenate([seed, cont]).astype(np.float64)
    S = power_spectrogram(x)
    in_seed = (np.arange(len(S)) * HOP + N_FFT) <= len(seed)   # frames wholly inside the seed
    centres = (np.arange(len(S)) * HOP + N_FFT / 2) / sr  # seconds from the seed's start
    seed_rms = _rms(seed)
    # the static test looks at the frames that are not silent: music that stops is "silent"
    chunks = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]   # the STFT frames
    frame_rms = np.sqrt(np.mean(chunks ** 2, axis=1))
    loud = frame_rms[:len(S)] >= silence * seed_rms
    flat = frame_flatness(S)
    seed_flat = np.nanmean(flat[in_seed]) if seed_rms > 0 and in_seed.any() else np.nan
    noisy = seed_flat + noise * (WHITE_FLATNESS - seed_flat) if np.isfinite(seed_flat) else np.inf
    w, h, ws = int(window * sr), max(1, int(hop * sr)), int(static_window * sr)
    for start in range(0, len(cont) - w + 1, h):
        pos = len(seed) + start
        if _rms(x[pos:pos + w]) < silence * seed_rms:
            return start / sr, "silent"
        inside = (centres >= pos / sr) & (centres <= (pos + w) / sr)
        if _max_loop_corr(x, pos, w, int(lag_min * sr), int(lag_max * sr)) >= loop_corr:
            return start / sr, "loop"
        if np.isfinite(flat[inside]).any() and np.nanmean(flat[inside]) > noisy:
            return start / sr, "noise"
        steady = (centres >= pos / sr) & (centres <= (pos + ws) / sr)
        frames = S[steady & loud]
        if (start + ws <= len(cont) and len(frames) > steady.sum() / 2
                and band_motion(frames) < static * band_motion(power_spectrogram(
                    coloured_noise(frames.mean(axis=0), ws, np.random.default_rng(0))))):
            return start / sr, "static"
    return len(cont) / sr, "none"


def baselines(seed: np.ndarray, n: int, frame: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Continuations any model should beat: silence, the last frame repeated, the seed looped,
    and noise with the seed's average spectrum and loudness."""
    reps = lambda a: np.tile(a, -(-n // len(a)))[:n]      # noqa: E731
    noise = coloured_noise(power_spectrogram(seed).mean(axis=0), n, rng)
    noise *= _rms(seed) / max(_rms(noise), 1e-12)
    return {"silence": np.zeros(n, np.float32), "repeat_last_frame": reps(seed[-frame:]),
            "loop_seed": reps(seed), "seed_spectrum_noise": noise.astype(np.float32)}


@torch.inference_mode()
def nll_bits_per_sample(model: AudioRNN, songs: Sequence[np.ndarray], window: int = 128) -> float:
    """Teacher-forced NLL of a mulaw model on held-out audio, in bits per sample."""
    if model.output != "mulaw":
        raise ValueError("nll_bits_per_sample needs a model trained with the mulaw loss")
    total, count = 0.0, 0
    for song in songs:
        k = len(song) // model.frame
        frames = torch.from_numpy(np.ascontiguousarray(song[: k * model.frame])).view(1, k, -1)
        state = None
        for a in range(0, k - 1, window):                  # windows keep the logits small
            b = min(a + window, k - 1)
            logits, state = model(model.encode_input(frames[:, a:b]), state)
            q = mulaw.quantize(frames[:, a + 1: b + 1], model.levels - 1)
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, model.levels), q.reshape(-1), reduction="sum"))
            count += q.numel()
    return total / max(count, 1) / math.log(2)


# ----------------------------------------------------------------------------- outputs


def save_spectrogram(path: str | Path, x: np.ndarray, sr: int, boundary_s: float, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    S = power_spectrogram(x)
    S_db = _db(S, max(S.max(), 1e-20) * 10 ** (-TOP_DB / 10))
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.imshow(S_db.T, origin="lower", aspect="auto", cmap="magma",
              extent=(0, len(x) / sr, 0, sr / 2000))
    ax.axvline(boundary_s, color="cyan", linestyle="--", label="end of seed")
    ax.set(xlabel="time (s)", ylabel="frequency (kHz)", title=title)
    ax.legend(loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def _mean(values: list[float | None]) -> float | None:
    """Mean of the defined values; None (JSON null) when none is (the flatness of silence)."""
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else None


# structure figures in the metrics, per continuation; flatness_gap = |flatness - real's|
STRUCTURE = ("spectral_flatness", "energy_modulation_db", "onset_periodicity", "flatness_gap")


def _structure_row(prefix: str, y: np.ndarray, sr: int, real: dict[str, float]) -> dict[str, Any]:
    fig = structure_figures(y, sr)
    fig["flatness_gap"] = abs(fig["spectral_flatness"] - real["spectral_flatness"])
    return {prefix + k: (v if np.isfinite(v) else None) for k, v in fig.items()}


def generate_all(model: AudioRNN, cfg: GenerateConfig, seed_paths: Sequence[str],
                 out_dir: str | Path) -> tuple[dict[str, Any], list[str]]:
    """Continue `cfg.count` songs; writes <out_dir>/<song>.wav (seed + continuation) and .png.

    Returns (metrics, written files). Songs that cannot be read or are too short are listed
    under metrics["skipped"] with the reason.
    """
    out_dir = Path(out_dir)
    sr, frame = model.sample_rate, model.frame
    rng = np.random.default_rng(cfg.seed)
    seed_n, cont_n = round(cfg.seed_seconds * sr), round(cfg.seconds * sr)
    per_song: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    files: list[str] = []
    held_out: list[np.ndarray] = []
    gen_seconds = gen_wall = 0.0
    names = dict(zip(seed_paths, file_names(list(seed_paths))))  # two track11.ogg stay two
    for path in seed_paths:
        if len(per_song) == cfg.count:
            break
        name = names[path]
        try:
            audio = load_mono(path, sr)
        except AudioError as e:
            skipped[name] = str(e)
            continue
        if len(audio) < seed_n + cont_n:
            skipped[name] = (f"too short ({len(audio) / sr:.2f} s < seed + continuation "
                             f"{(seed_n + cont_n) / sr:.2f} s)")
            continue
        held_out.append(audio)
        start = int(rng.integers(0, len(audio) - seed_n - cont_n + 1))
        seed, real = audio[start:start + seed_n], audio[start + seed_n:start + seed_n + cont_n]
        t0 = time.perf_counter()
        gen = continue_audio(model, seed, cfg.seconds, cfg.temperature, rng, cfg.phase_jitter)
        gen_wall += time.perf_counter() - t0
        gen_seconds += cfg.seconds
        t, why = collapse_time(seed, gen, sr)
        real_fig = structure_figures(real, sr)
        row: dict[str, Any] = {"start_s": start / sr, "time_to_collapse_s": t,
                               "collapse_reason": why, "lsd_db": lsd_db(gen, real),
                               **_structure_row("", gen, sr, real_fig),
                               "real_time_to_collapse_s": collapse_time(seed, real, sr)[0],
                               **{f"real_{k}": (v if np.isfinite(v) else None)
                                  for k, v in real_fig.items()}}
        for b, y in baselines(seed, cont_n, frame, rng).items():
            row[f"{b}_lsd_db"] = lsd_db(y, real)
            row[f"{b}_time_to_collapse_s"] = collapse_time(seed, y, sr)[0]
            row.update(_structure_row(f"{b}_", y, sr, real_fig))
        per_song[name] = row
        full = np.concatenate([seed, gen])
        wav, png = out_dir / f"{name}.wav", out_dir / f"{name}.png"
        write(wav, full, sr)
        save_spectrogram(png, full, sr, len(seed) / sr,
                         f"{name}: {cfg.seed_seconds:g} s seed + {cfg.seconds:g} s generated "
                         f"(T={cfg.temperature:g}); collapse {t:.1f} s ({why}), LSD {row['lsd_db']:.1f} dB, "
                         f"flatness {row['spectral_flatness'] or 0:.2f} (real "
                         f"{row['real_spectral_flatness'] or 0:.2f})")
        files += [str(wav), str(png)]
    if not per_song:
        raise ValueError(f"no usable seed song among {len(seed_paths)}: {skipped}")
    rows = list(per_song.values())
    avg = lambda prefix, keys: {k: _mean([r[prefix + k] for r in rows]) for k in keys}  # noqa: E731
    metrics: dict[str, Any] = {
        "time_to_collapse_s": _mean([r["time_to_collapse_s"] for r in rows]),
        "time_to_collapse_s_min": float(min(r["time_to_collapse_s"] for r in rows)),
        "lsd_db": _mean([r["lsd_db"] for r in rows]),
        **avg("", STRUCTURE),
        "realtime_factor": gen_seconds / gen_wall,
        "real": avg("real_", ("time_to_collapse_s", *STRUCTURE[:-1])),
        "baselines": {b: avg(f"{b}_", ("lsd_db", "time_to_collapse_s", *STRUCTURE))
                      for b in ("silence", "repeat_last_frame", "loop_seed", "seed_spectrum_noise")},
        "songs": len(rows), "seconds": cfg.seconds, "temperature": cfg.temperature,
        "phase_jitter": cfg.phase_jitter,
        "per_song": per_song, "skipped": skipped,
    }
    if model.output == "mulaw":
        metrics["nll_bits_per_sample"] = nll_bits_per_sample(model, held_out)
    return metrics, files
