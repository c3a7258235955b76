"""A peer for same-song retrieval, computed in the same run: librosa's standard summary features
(MFCC mean+std, chroma, spectral contrast, tempogram) of each half of a song.

The halves are cut exactly as `prepare` cuts the test halves (`audio.io.halves` of the decoded file),
so every representation is judged on the same audio. Songs are decoded in parallel workers, one
song in memory per worker, as in `prepare`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from songcoder.audio.io import AudioError, halves, load, resample
from songcoder.parallel import imap

SAMPLE_RATE = 22050          # librosa's default analysis rate
N_FFT, HOP = 2048, 512
TEMPO_LAGS = 384             # librosa's tempogram window (frames): lags up to 8.9 s
# The mean tempogram in 32 log-spaced bands of lags from 8 frames (0.19 s, 320 BPM) to 8.9 s:
# beat-rate lags get as many bands as bar-rate ones, and 384 raw lags do not outweigh the rest.
TEMPO_EDGES = np.unique(np.geomspace(8, TEMPO_LAGS, 33).astype(int))
TEMPO_BINS = len(TEMPO_EDGES) - 1
# Column groups of one half's vector (what each part weighs in a Euclidean distance).
GROUPS = {"mfcc": slice(0, 40), "chroma": slice(40, 64), "contrast": slice(64, 78),
          "tempogram": slice(78, 78 + TEMPO_BINS)}
DIM = 78 + TEMPO_BINS


def features(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(DIM,) summary of mono audio y at `sr`: means and stds over frames, mean tempogram."""
    import librosa

    s = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    power = s ** 2
    logmel = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr))
    mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=20)
    chroma = librosa.feature.chroma_stft(S=power, sr=sr)
    contrast = librosa.feature.spectral_contrast(S=s, sr=sr)
    onset = librosa.onset.onset_strength(S=logmel, sr=sr)
    tempogram = librosa.feature.tempogram(onset_envelope=onset, sr=sr, hop_length=HOP,
                                          win_length=TEMPO_LAGS).mean(1)
    bands = np.add.reduceat(tempogram[:TEMPO_EDGES[-1]], TEMPO_EDGES[:-1]) / np.diff(TEMPO_EDGES)
    return np.concatenate([mfcc.mean(1), mfcc.std(1), chroma.mean(1), chroma.std(1),
                           contrast.mean(1), contrast.std(1), bands]).astype(np.float32)


@dataclass
class Halves:
    id: str
    vectors: np.ndarray | None = None      # (2, DIM)
    seconds: float = 0.0
    error: str = ""


def song_halves(row: dict[str, str]) -> Halves:
    """Worker: decode one manifest row's file, cut it in halves as `prepare` does, featurise."""
    try:
        x, sr = load(row["path"])
        v = np.stack([features(resample(h.mean(axis=1), sr, SAMPLE_RATE)) for h in halves(x)])
        if not np.isfinite(v).all():
            return Halves(row["id"], error="librosa features are not finite")
        return Halves(row["id"], v, len(x) / sr)
    except AudioError as e:
        return Halves(row["id"], error=str(e))
    except Exception as e:  # one bad song must not take the evaluation down
        return Halves(row["id"], error=f"librosa features failed: {type(e).__name__}: {e}")


def _crashed(row: dict[str, str], reason: str) -> Halves:
    return Halves(row["id"], error=reason)


def numba_cache() -> Path:
    """A folder of librosa's compiled numba code, kept between runs: compiling it costs about
    20 s per evaluate, loading it about a second. One folder per librosa install (its versions,
    its path and when it was installed: numba recompiles when the source it cached changes),
    written whole by one process and then only read.

    librosa's own cache sits beside librosa, and two fresh workers compiling into it at once
    left it corrupt (every later load segfaulted: every song would be lost). So a run that finds
    no folder compiles into a temporary one and renames it into place; when two runs race, the
    first rename wins and the other's copy is dropped. Renaming is safe because numba names a
    cache entry by the source file it caches, relative to the cache folder."""
    import librosa
    import numba

    source = Path(librosa.__file__)
    install = hashlib.sha1(f"{source.parent}:{source.stat().st_mtime_ns}".encode()).hexdigest()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "songcoder"
    final = base / (f"numba-librosa{librosa.__version__}-numba{numba.__version__}"
                    f"-py{sys.version_info[0]}.{sys.version_info[1]}-{install[:12]}")
    if final.is_dir():
        return final
    try:
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=base))
    except OSError:                      # no writable cache folder: a private one for this run
        tmp, final = (Path(tempfile.mkdtemp(prefix="songcoder-numba-")),) * 2
    with _numba_cache_dir(tmp):
        features(np.random.default_rng(0).standard_normal(4 * SAMPLE_RATE).astype(np.float32))
    if tmp != final:
        try:
            tmp.rename(final)
        except OSError:                  # another run published first: use its folder
            shutil.rmtree(tmp, ignore_errors=True)
    return final


@contextlib.contextmanager
def _numba_cache_dir(path: Path) -> Iterator[None]:
    """NUMBA_CACHE_DIR set to path for this process and the workers it spawns, then restored."""
    import numba.core.config

    saved = os.environ.get("NUMBA_CACHE_DIR")
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    numba.core.config.reload_config()          # in case numba was imported before
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("NUMBA_CACHE_DIR", None)
        else:
            os.environ["NUMBA_CACHE_DIR"] = saved
        numba.core.config.reload_config()


def halves_features(rows: list[dict[str, str]], workers: int) -> tuple[list[Halves], dict]:
    """Features of every row's halves, in order, and {songs, audio_seconds, wall_seconds,
    realtime_factor, realtime_factor_per_worker, failed}."""
    with _numba_cache_dir(numba_cache()):
        t0 = time.perf_counter()
        out = list(imap(song_halves, rows, workers=workers, desc="librosa baseline",
                        on_crash=_crashed))
        wall = time.perf_counter() - t0
    audio = sum(h.seconds for h in out)
    speed = {"songs": len(out), "failed": sum(bool(h.error) for h in out),
             "audio_seconds": round(audio, 2), "wall_seconds": round(wall, 3),
             "realtime_factor": round(audio / wall, 1) if wall > 0 else float("nan")}
    used = max(1, min(workers, len(rows)))
    speed["realtime_factor_per_worker"] = round(speed["realtime_factor"] / used, 1)
    return out, speed


@dataclass
class Peer:
    """The baseline's halves of the test songs, and the rows whose statistics z-score it."""

    first: np.ndarray        # (N, DIM): NaN rows where a song failed (see ok)
    second: np.ndarray
    ok: np.ndarray           # (N,) bool
    stats_rows: np.ndarray   # (M, DIM): both halves of sampled train songs, or the test halves
    zscore: str              # "train" or "halves": where stats_rows come from
    speed: dict
    errors: dict[str, str]   # song id -> reason


def peer_halves(by_id: dict[str, dict[str, str]], test_ids: list[str], train_ids: list[str],
                train_songs: int, workers: int, seed: int) -> Peer:
    """Featurise both halves of every test song and of `train_songs` sampled train songs
    (0: none; the test halves then z-score themselves)."""
    rng = np.random.default_rng(seed)
    n_train = min(train_songs, len(train_ids))
    sample = sorted(rng.choice(len(train_ids), n_train, replace=False)) if n_train else []
    rows = [by_id[i] for i in test_ids] + [by_id[train_ids[k]] for k in sample]
    done, speed = halves_features(rows, workers)
    test, train = done[:len(test_ids)], done[len(test_ids):]
    ok = np.array([not h.error for h in test], bool)
    nan = np.full((2, DIM), np.nan, np.float32)
    v = np.stack([h.vectors if not h.error else nan for h in test]) if test \
        else np.zeros((0, 2, DIM), np.float32)
    stats = [h.vectors for h in train if not h.error]
    zscore = "train" if stats else "halves"
    stats_rows = np.concatenate(stats) if stats else v[ok].reshape(-1, DIM)
    return Peer(v[:, 0], v[:, 1], ok, stats_rows, zscore, speed,
                {h.id: h.error for h in done if h.error})
