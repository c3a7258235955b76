"""code_units.png: the code units' mean activations and, for a rank-ordered code, its prefix-k curve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from songcoder.evaluate.plots import _save, plt


def save(block: dict[str, Any], out_dir: str | Path) -> Path:
    """The `code_units` block of evaluate's metrics (evaluate/codes.py) as one PNG in out_dir."""
    curves = block.get("prefix_k")
    fig, axes = plt.subplots(1, 2 if curves else 1, figsize=(9 if curves else 4.5, 3.5),
                             squeeze=False)
    ax = axes[0][0]
    ax.hist(block["rho_hat"], bins=20, color="tab:blue")
    ax.set_xlabel("mean activation rho-hat of a unit (test songs)")
    ax.set_ylabel("units")
    ax.set_title(f"{block['regularizer']}: |h| < {block['near_zero_threshold']} "
                 f"in {block['near_zero']:.0%} of activations", fontsize=9)
    if curves:
        ax = axes[0][1]
        for name, style in (("rank_ordered", "o-"), ("best_units", "s--"), ("pca", "^:")):
            ax.plot(range(1, len(curves[name]) + 1), curves[name], style, label=name, markersize=4)
        ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("k (code units or components used)")
        ax.set_ylabel("test relative error")
        ax.legend(fontsize=8)
        ax.set_title("First k units: each song's most active, greedy fixed, PCA", fontsize=9)
    return _save(fig, Path(out_dir) / "code_units.png")
