"""Continue held-out songs from a seed; the judging is `songcoder.evaluate.generation`."""

from __future__ import annotations

import math
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from songcoder.atomic import atomic_path
from songcoder.audio.collection import file_names
from songcoder.audio.io import AudioError, load_mono, write
from songcoder.audio.spectral import power_db, power_spectrogram
from songcoder.config import GenerateConfig
from songcoder.evaluate.generation import SongCodeJudge, judge_all, summarise
from songcoder.features.extract import song_vector_kwargs
from songcoder.rnn import mulaw
from songcoder.rnn.model import AudioRNN
from songcoder.rnn.representations import Mulaw


def continue_audio(model: AudioRNN, seed: np.ndarray, seconds: float, temperature: float,
                   rng: np.random.Generator, phase_jitter: float = 0.6,
                   feature_kw: dict[str, Any] | None = None) -> np.ndarray:
    """Generate `seconds` of audio after `seed` (mono, at model.sample_rate); `feature_kw`:
    prepare's `song_features` arguments (the pointer finds the seed's tempo with them)."""
    frame = model.frame
    n = len(seed) // frame * frame                       # whole frames, ending at the seed's end
    if n < model.min_seed_samples():
        raise ValueError(f"seed too short ({len(seed)} < {model.min_seed_samples()} samples)")
    frames = torch.from_numpy(np.ascontiguousarray(seed[len(seed) - n:], np.float32))
    steps = math.ceil(seconds * model.sample_rate / frame)
    g = torch.Generator().manual_seed(int(rng.integers(1 << 31)))
    # One frame per step is too small to split across threads: on CPU more threads only add
    # synchronisation (measured 3x slower with 2 threads than with 1 on a 2-core machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = model.generate(frames.view(1, -1, frame), steps, temperature, g,
                             phase_jitter=phase_jitter, feature_kw=feature_kw)   # (1, steps, frame)
    finally:
        torch.set_num_threads(threads)
    return out.reshape(-1)[: round(seconds * model.sample_rate)].numpy()


@torch.inference_mode()
def nll_bits_per_sample(model: AudioRNN, songs: Sequence[np.ndarray], window: int = 128) -> float:
    """Teacher-forced NLL of a mulaw model on held-out audio, in bits per sample."""
    if not isinstance(model.rep, Mulaw):
        raise ValueError("nll_bits_per_sample needs a model trained with the mulaw loss")
    total, count = 0.0, 0
    for song in songs:
        k = len(song) // model.frame
        frames = torch.from_numpy(np.ascontiguousarray(song[: k * model.frame])).view(1, k, -1)
        state = None
        for a in range(0, k - 1, window):                  # windows keep the logits small
            b = min(a + window, k - 1)
            logits, state = model(model.encode_input(frames[:, a:b]), state)
            q = mulaw.quantize(frames[:, a + 1: b + 1], model.rep.levels - 1)
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, model.rep.levels), q.reshape(-1), reduction="sum"))
            count += q.numel()
    return total / max(count, 1) / math.log(2)


# ----------------------------------------------------------------------------- outputs


def save_spectrogram(path: str | Path, x: np.ndarray, sr: int, boundary_s: float, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    S_db = power_db(power_spectrogram(x))
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.imshow(S_db.T, origin="lower", aspect="auto", cmap="magma",
              extent=(0, len(x) / sr, 0, sr / 2000))
    ax.axvline(boundary_s, color="cyan", linestyle="--", label="end of seed")
    ax.set(xlabel="time (s)", ylabel="frequency (kHz)")
    ax.set_title("\n".join(textwrap.wrap(title, 110)), fontsize=10)   # the figures run long
    ax.legend(loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def generate_all(model: AudioRNN, cfg: GenerateConfig, seed_paths: Sequence[str],
                 out_dir: str | Path, *, encoder: SongCodeJudge | None = None,
                 feature_kw: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Continue `cfg.count` songs; writes <out_dir>/<song>.wav (seed + continuation) and .png.

    Returns (metrics, written files): `evaluate.generation`'s figures per song and as means.
    `encoder` (the song encoder over the test songs) adds `encoder_top1`; `feature_kw` are
    prepare's `song_features` arguments (default: prepare's defaults). Songs that cannot be
    read or are too short are listed under metrics["skipped"] with the reason.
    """
    out_dir = Path(out_dir)
    sr, frame = model.sample_rate, model.frame
    feature_kw = feature_kw or song_vector_kwargs(None)
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
        gen = continue_audio(model, seed, cfg.seconds, cfg.temperature, rng, cfg.phase_jitter,
                             feature_kw)
        gen_wall += time.perf_counter() - t0
        gen_seconds += cfg.seconds
        row = {"start_s": start / sr, **judge_all(seed, gen, real, audio, sr, frame, rng,
                                                   feature_kw=feature_kw, encoder=encoder,
                                                   path=path)}
        per_song[name] = row
        full = np.concatenate([seed, gen])
        wav, png = out_dir / f"{name}.wav", out_dir / f"{name}.png"
        write(wav, full, sr)
        save_spectrogram(png, full, sr, len(seed) / sr,
                         f"{name}: {cfg.seed_seconds:g} s seed + {cfg.seconds:g} s generated "
                         f"(T={cfg.temperature:g}); collapse {row['time_to_collapse_s']:.1f} s "
                         f"({row['collapse_reason']}), onset periodicity "
                         f"{row['onset_periodicity']:.2f} (real "
                         f"{row['real_continuation_onset_periodicity']:.2f}), tonality "
                         f"{row['tonality']:.1f} (real {row['real_continuation_tonality']:.1f})")
        files += [str(wav), str(png)]
    if not per_song:
        raise ValueError(f"no usable seed song among {len(seed_paths)}: {skipped}")
    metrics: dict[str, Any] = {
        **summarise(list(per_song.values())),
        "realtime_factor": gen_seconds / gen_wall,
        "songs": len(per_song), "seconds": cfg.seconds, "temperature": cfg.temperature,
        "phase_jitter": cfg.phase_jitter,
        "per_song": per_song, "skipped": skipped,
    }
    if isinstance(model.rep, Mulaw):
        metrics["nll_bits_per_sample"] = nll_bits_per_sample(model, held_out)
    return metrics, files
