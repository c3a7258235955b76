"""What a run found, for a person at the end of `make run`: the headline figures from the
metrics files, each beside what it should beat, and where to look further."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# (line label, [(figure label, metrics file stem, dotted key)]); a figure whose file or key is
# missing is left out, a line with none of its figures too (a stage not run, an older run).
HEADLINES: tuple[tuple[str, list[tuple[str, str, str]]], ...] = (
    ("collection", [("songs", "ingest", "songs"), ("skipped", "ingest", "skipped")]),
    ("tempo", [("acc1", "prepare", "tempo_acc1"), ("acc2", "prepare", "tempo_acc2"),
               ("sped-up acc1", "prepare", "tempo_speed_acc1"),
               ("at a BPM bound", "prepare", "tempo_at_bound")]),
    ("song code, rel. error", [("21-d code", "evaluate", "rel_error.finetuned_21"),
                               ("PCA-21", "evaluate", "rel_error.pca_21")]),
    ("song code, masked", [("21-d code", "evaluate", "masked.finetuned_21"),
                           ("PCA-21", "evaluate", "masked.pca_21")]),
    ("same-song halves top-1", [("21-d code", "evaluate", "retrieval.top1_halves_code"),
                                ("PCA-21", "evaluate", "retrieval.top1_halves_pca_21"),
                                ("raw", "evaluate", "retrieval.top1_halves_raw"),
                                ("librosa", "evaluate", "retrieval.top1_halves_librosa")]),
    ("  code minus librosa", [("95 % from", "evaluate", "retrieval_interval.code_minus_librosa.lo"),
                              ("to", "evaluate", "retrieval_interval.code_minus_librosa.hi")]),
    ("audio RNN", [("val loss", "train_rnn", "val/loss")]),
    ("continuation LSD dB", [("model", "generate", "lsd_db"),
                             ("noise", "generate", "baselines.seed_spectrum_noise.lsd_db"),
                             ("loop seed", "generate", "baselines.loop_seed.lsd_db")]),
    ("onset periodicity", [("model", "generate", "onset_periodicity"),
                           ("real", "generate",
                            "baselines.real_continuation.onset_periodicity")]),
    ("collapse after (s)", [("model", "generate", "time_to_collapse_s")]),
)

# The page `make ui` prints: MLflow 3's UI opens an experiment on its GenAI pages unless told.
UI_PAGE = "http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning"
WHERE = (
    ("metrics/*.json", "every figure (dvc metrics show; songcoder info)"),
    ("plots/", "curves, pictures (dvc plots show -> dvc_plots/index.html)"),
    ("generated/", "continued test songs (.wav) and their spectrograms (.png)"),
    ("make ui", f"MLflow, runs side by side, at\n    {UI_PAGE}"),   # too wide for one line
    ("songcoder --help", "similar FILE, playlist --out mix.m3u, generate"),
)


def _leaf(d: Any, dotted: str) -> Any:
    """d["a"]["b.c"] or d["a"]["b"]["c"] for "a.b.c": keys may hold dots themselves."""
    if not isinstance(d, Mapping):
        return None
    if dotted in d:
        return d[dotted]
    head, _, rest = dotted.partition(".")
    return _leaf(d.get(head), rest) if rest else None


def _number(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return f"{v:.0f}" if float(v).is_integer() and abs(v) >= 1 else f"{v:.3g}"


def summary(folder: Path) -> str:
    metrics: dict[str, Any] = {}
    for f in sorted(folder.glob("*.json")):
        try:
            metrics[f.stem] = json.loads(f.read_text())
        except (OSError, ValueError):
            continue            # `songcoder info` names unreadable files; here: figures only
    lines = [f"songcoder: results in {folder}/" if metrics else
             f"songcoder: no metrics in {folder}/ yet (run `make run`)"]
    for label, figures in HEADLINES:
        cells = [f"{name} {text}" for name, stem, key in figures
                 if (text := _number(_leaf(metrics.get(stem), key))) is not None]
        if cells:
            lines.append(f"  {label:<24}{', '.join(cells)}")
    lines.append("where to look:")
    lines += [f"  {what:<18}{why}" for what, why in WHERE]
    return "\n".join(lines)


def grouped(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Scalar figures by their first name part ("rel_error" -> {"pca_21": ...}); per-song
    tables (per_song, skipped) are left out: they are for the file, not a screen."""
    out: dict[str, dict[str, Any]] = {}

    def walk(d: Mapping[str, Any], group: str, prefix: str) -> None:
        for k, v in d.items():
            if k in ("per_song", "skipped"):
                continue
            if isinstance(v, Mapping):
                walk(v, group or k, f"{prefix}{k}." if group else "")
            elif not isinstance(v, list):
                out.setdefault(group, {})[prefix + k] = v
    walk(metrics, "", "")
    return out
