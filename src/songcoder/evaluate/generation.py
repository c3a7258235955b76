"""Generation metrics: every continuation of a seed (the model's, the real one, the baselines)
judged by the same figures, per song and as means.

Per continuation:
- `time_to_collapse_s`, `collapse_reason` (`continuation.collapse_time`);
- `lsd_db` and `chroma_corr` against the real continuation (pitch-class profiles, see
  `structure.chroma_profile`; NaN/null when either has no tonal peak);
- `spectral_flatness`, `energy_modulation_db`, `onset_periodicity`, `tonality`
  (`structure.py`), `flatness_gap` = |flatness - the real continuation's|;
- `tempo_match`: the continuation's tempo by the project's own detector (`song_features`,
  with prepare's params) equals the seed song's (the same detector on the whole song) within
  4 %, x2 and x1/2 allowed;
- `encoder_top1` (when a `SongCodeJudge` is given): the project's song encoder codes the
  continuation; is the nearest test song (by code, euclidean) the seed's own song?
- `copy_score` (`continuation.copy_score`).
Means skip undefined values (JSON null when none is defined); booleans average to fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from songcoder.config import PrepareConfig
from songcoder.evaluate.continuation import baselines, collapse_time, copy_score, lsd_db, rms
from songcoder.evaluate.structure import chroma_corr, structure_figures
from songcoder.features.extract import song_features, song_vector_kwargs

TEMPO_TOLERANCE = 0.04
TEMPO_FACTORS = (1.0, 2.0, 0.5)
BASELINES = ("silence", "repeat_last_frame", "loop_seed", "seed_spectrum_noise")
REAL = "real_continuation"
FIGURES = ("time_to_collapse_s", "lsd_db", "spectral_flatness", "energy_modulation_db",
           "onset_periodicity", "tonality", "flatness_gap", "chroma_corr", "tempo_match",
           "encoder_top1", "copy_score")


def tempo_match(bpm: float, song_bpm: float) -> bool:
    return any(abs(bpm / (song_bpm * f) - 1) <= TEMPO_TOLERANCE for f in TEMPO_FACTORS)


@dataclass
class SongCodeJudge:
    """The project's song encoder (`sdae.serving.SongEncoder`) and the codes of the test songs
    (`paths`, their files): which test song does a continuation sound like?"""

    encoder: Any
    codes: np.ndarray
    paths: list[str]
    feature_kw: dict[str, Any]

    @classmethod
    def from_files(cls, model_path: str | Path, features_dir: str | Path,
                   manifest: list[dict[str, str]], prepare: PrepareConfig | None,
                   split: str = "test", root: str | Path = "") -> "SongCodeJudge":
        """The songs of `split`; their manifest paths are relative to `root` (the project's
        root: the working directory of a stage, another run's folder for a benchmark)."""
        from songcoder.sdae.serving import SongEncoder, encode

        features_dir = Path(features_dir)
        enc = SongEncoder.from_files(model_path, features_dir / "norm.npz")
        rows = np.load(features_dir / f"{split}.npy")           # already normalised by prepare
        index = (features_dir / f"{split}_index.csv").read_text().splitlines()
        head = index[0].split(",")
        ids = [dict(zip(head, line.split(",")))["id"] for line in index[1:]]
        by_id = {r["id"]: str(Path(root) / r["path"]) if root else r["path"] for r in manifest}
        return cls(enc, encode(enc.model, rows), [by_id[i] for i in ids],
                   song_vector_kwargs(prepare))

    def top1(self, x: np.ndarray, sr: int, path: str) -> bool | None:
        """Is `path` the nearest test song to x's code? None when `path` is not a test song."""
        if path not in self.paths:
            return None
        code = self.encoder.codes(song_features(x, sr, **self.feature_kw).vector[None])[0]
        d = ((self.codes - code) ** 2).sum(axis=1)
        return self.paths[int(d.argmin())] == path


def _finite(v):
    return v if not isinstance(v, float) or np.isfinite(v) else None


def judge(seed: np.ndarray, cont: np.ndarray, real: np.ndarray, sr: int, *, song_bpm: float,
          feature_kw: dict[str, Any], encoder: SongCodeJudge | None = None,
          path: str = "", real_chroma: bool = True) -> dict[str, Any]:
    """Every figure of one continuation (see the module docstring)."""
    t, why = collapse_time(seed, cont, sr)
    fig: dict[str, Any] = {"time_to_collapse_s": t, "collapse_reason": why,
                           "lsd_db": lsd_db(cont, real), **structure_figures(cont, sr)}
    fig["flatness_gap"] = abs(fig["spectral_flatness"] - structure_figures(real, sr)["spectral_flatness"])
    fig["chroma_corr"] = chroma_corr(cont, real, sr) if real_chroma else None
    silent = rms(cont) == 0
    fig["tempo_match"] = False if silent else tempo_match(
        song_features(cont, sr, **feature_kw).tempo_bpm, song_bpm)
    fig["encoder_top1"] = None if encoder is None or silent else encoder.top1(cont, sr, path)
    fig["copy_score"] = copy_score(seed, cont, sr)
    return {k: _finite(v) for k, v in fig.items()}


def judge_all(seed: np.ndarray, gen: np.ndarray | None, real: np.ndarray, song: np.ndarray,
              sr: int, frame: int, rng: np.random.Generator, *, feature_kw: dict[str, Any],
              encoder: SongCodeJudge | None = None, path: str = "") -> dict[str, Any]:
    """One song's row: the model's figures unprefixed (when `gen` is given), the real
    continuation's as `real_continuation_<figure>`, each baseline's as `<baseline>_<figure>`."""
    kw = dict(song_bpm=song_features(song, sr, **feature_kw).tempo_bpm, feature_kw=feature_kw,
              encoder=encoder, path=path)
    row: dict[str, Any] = {}
    if gen is not None:
        row.update(judge(seed, gen, real, sr, **kw))
    conts = {REAL: real, **baselines(seed, len(real), frame, rng)}
    for name, y in conts.items():
        fig = judge(seed, y, real, sr, real_chroma=name != REAL, **kw)
        if name == REAL:
            fig["lsd_db"] = fig["flatness_gap"] = None   # zero by definition
        row.update({f"{name}_{k}": v for k, v in fig.items()})
    return row


def _mean(values: list) -> float | None:
    """Mean of the defined values; None (JSON null) when none is (the flatness of silence)."""
    values = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else None


def summarise(rows: list[dict[str, Any]], model: bool = True) -> dict[str, Any]:
    """Means over songs: the model's at the top level, the others under `baselines`."""
    avg = lambda prefix: {k: _mean([r.get(prefix + k) for r in rows]) for k in FIGURES}  # noqa: E731
    out: dict[str, Any] = {}
    if model:
        out.update(avg(""))
        out["time_to_collapse_s_min"] = float(min(r["time_to_collapse_s"] for r in rows))
    out["baselines"] = {b: avg(f"{b}_") for b in (REAL, *BASELINES)}
    return out
