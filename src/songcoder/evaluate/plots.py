"""Plot data for DVC (lists of rows) and PNG figures (matplotlib, no display needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from songcoder.atomic import atomic_path  # noqa: E402


def depth_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """[{model, size, rel_error}] for `rel_error vs code size`: greedy stack, PCA, fine-tuned."""
    rows = []
    for name, value in metrics["rel_error"].items():
        m = re.fullmatch(r"(finetuned|greedy|pca)_(\d+)", name)
        if m:
            rows.append({"model": m.group(1), "size": int(m.group(2)), "rel_error": value})
    return sorted(rows, key=lambda r: (r["model"], -r["size"]))


def group_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """[{model, group, rel_error}] per feature group."""
    return [{"model": model, "group": group, "rel_error": value}
            for model, groups in metrics["rel_error_group"].items()
            for group, value in groups.items()]


def save_figures(metrics: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """rel_error_depth.png and rel_error_groups.png under out_dir (atomically)."""
    out_dir = Path(out_dir)
    paths = []

    fig, ax = plt.subplots(figsize=(5, 3.5))
    rows = depth_rows(metrics)
    for model, style in (("greedy", "o-"), ("pca", "s--"), ("finetuned", "*")):
        pts = sorted((r["size"], r["rel_error"]) for r in rows if r["model"] == model)
        if pts:
            ax.plot(*zip(*pts), style, label=model, markersize=10 if model == "finetuned" else 6)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":", label="training mean")
    ax.set_xscale("log")
    sizes = sorted({r["size"] for r in rows})
    ax.set_xticks(sizes, [str(v) for v in sizes])
    ax.minorticks_off()
    ax.set_xlabel("code size")
    ax.set_ylabel("test relative error")
    ax.legend()
    ax.set_title("Reconstruction error vs code size")
    paths.append(_save(fig, out_dir / "rel_error_depth.png"))

    fig, ax = plt.subplots(figsize=(6, 3.5))
    per = metrics["rel_error_group"]
    groups = list(next(iter(per.values())).keys()) if per else []
    width = 0.8 / max(len(per), 1)
    for i, (model, vals) in enumerate(per.items()):
        ax.bar([g + i * width for g in range(len(groups))], [vals[g] for g in groups], width,
               label=model)
    ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))], groups)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_ylabel("test relative error")
    ax.legend()
    ax.set_title("Per feature group")
    paths.append(_save(fig, out_dir / "rel_error_groups.png"))
    return paths


def history_figure(histories: dict[str, list[dict[str, float]]], path: str | Path,
                   key: str = "val_rel_error") -> Path:
    """One curve per run (e.g. per optimizer) of a per-epoch history column."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, hist in histories.items():
        ax.plot([h["epoch"] for h in hist], [h.get(key, float("nan")) for h in hist], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.legend()
    return _save(fig, Path(path))


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
