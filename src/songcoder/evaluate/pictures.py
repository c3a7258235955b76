"""Pictures of what the autoencoder learned, drawn in the song vector's layout (layout.py).

- units.png: what the decoder draws when one code unit moves (one small panel per unit);
- preferred_inputs.png: seed 004's preferred input of layer-1 units, w_j / ||w_j||;
- code_map.png: the test songs' codes in 2-D (PCA fitted on the train songs' codes), coloured
  by style (synthetic corpus) or by collection folder (your music);
- reconstructions.png: a few test songs beside their fine-tuned and PCA reconstructions.

Only the seed's groups (three rhythm bands, loudness) are drawn; the extended layout's extra
groups (timbre, contrast, chroma, tempogram) go through the network but are left out of the pictures.
Decoded vectors are shown in the features' own units (rhythm: fraction of the band's loudest
tick; loudness: dBFS) by undoing prepare's z-scoring with norm.npz; preferred inputs stay in
z-scores, the space in which their norm is 1.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from songcoder.atomic import atomic_path  # noqa: E402
from songcoder.pca import PCA  # noqa: E402
from songcoder.features import layout as L  # noqa: E402
from songcoder.features.norm import Norm  # noqa: E402
from songcoder.sdae.stack import DeepAutoencoder  # noqa: E402
from songcoder.sdae.serving import encode, reconstruct  # noqa: E402

SHOWN_QUANTILES = (1, 5, 9)          # 10 %, 50 %, 90 % of each band's loudness over time
BAND_COLOURS = ("tab:blue", "tab:orange", "tab:green")   # rhythm low, mid, high
BEATS = np.arange(L.TICKS) / L.TICKS_PER_BEAT           # x of each tick, in beats
BIN_TICKS = L.TICKS_PER_BEAT // 8                        # 1/32 note
HZ_EDGES = (0, 10, 20, 30)          # band edges labelled on the loudness axes (30 Hz ... 5 kHz)


def song_groups(rows: list[dict[str, str]], folder: str) -> tuple[str, np.ndarray]:
    """(what colours the code map, one label per song): `style` when every song has one (the
    synthetic corpus), else the song's collection, i.e. the first folder of its path under
    `folder` (data.folder), or that folder's own name for a song lying directly in it."""
    if rows and all(r.get("style") for r in rows):
        return "style", np.array([r["style"] for r in rows])
    top = os.path.abspath(folder)
    labels = []
    for r in rows:
        rel = os.path.relpath(os.path.abspath(r["path"]), top)
        parts = Path(rel).parts
        if rel.startswith(os.pardir) or len(parts) < 2:     # not below it: its parent folder
            labels.append(Path(r["path"]).parent.name or os.path.basename(top))
        else:
            labels.append(parts[0])
    return "collection folder", np.array(labels)


def save_pictures(model: DeepAutoencoder, x_train: np.ndarray, x_test: np.ndarray,
                  norm: Norm, pca: PCA, colour_by: tuple[str, np.ndarray],
                  names: list[str], out_dir: str | Path, *, n_songs: int = 4,
                  n_inputs: int = 36) -> list[Path]:
    """The four PNGs under out_dir. x_*: the prepared song vectors (one row per song); norm:
    prepare's norm.npz; pca: PCA of x_train (the code size's is drawn beside the net);
    colour_by: song_groups() of the test songs; names: a short name per test song."""
    out_dir = Path(out_dir)
    x_train = np.asarray(x_train, np.float32)
    x_test = np.asarray(x_test, np.float32)
    L.groups(x_train.shape[1])          # a clear error for a vector of unknown layout
    raw = _unscale(norm)
    codes_train = encode(model, x_train)
    return [
        _save(unit_figure(model, x_train, codes_train, raw), out_dir / "units.png"),
        _save(preferred_input_figure(model.layers[0].input_weights().detach().cpu().numpy(),
                                     n_inputs),
              out_dir / "preferred_inputs.png"),
        _save(code_map_figure(codes_train, encode(model, x_test), *colour_by),
              out_dir / "code_map.png"),
        _save(reconstruction_figure(model, pca.truncated(model.sizes[-1]), x_train, x_test, raw,
                                    colour_by[1], names, n_songs),
              out_dir / "reconstructions.png"),
    ]


def _unscale(norm: Norm):
    """Prepared rows -> the features' units."""
    mean, std = np.asarray(norm.mean, np.float64), np.asarray(norm.std, np.float64)
    return lambda z: np.asarray(z, np.float64) * std + mean


def _decode(model: DeepAutoencoder, codes: np.ndarray) -> np.ndarray:
    dev = next(model.parameters()).device
    with torch.no_grad():
        return model.decode(torch.as_tensor(codes, dtype=torch.float32, device=dev)).cpu().numpy()


def _rhythm(v: np.ndarray) -> np.ndarray:
    """(..., 3, 384) rhythm bands of song vectors (..., D)."""
    return v[..., L.RHYTHM].reshape(*v.shape[:-1], L.RHYTHM_BANDS, L.TICKS)


def _loudness(v: np.ndarray) -> np.ndarray:
    """(..., 30, 11) loudness bands x quantiles of song vectors (..., D)."""
    return v[..., L.LOUDNESS].reshape(*v.shape[:-1], L.LOUDNESS_BANDS, L.QUANTILES)


def _grid(n: int, max_cols: int) -> tuple[int, int]:
    cols = min(n, max_cols)
    return -(-n // cols), cols


def _beat_axis(ax, label: bool) -> None:
    ax.set_xlim(0, L.BEATS_PER_BAR)
    ax.set_xticks(range(L.BEATS_PER_BAR + 1))
    for b in range(1, L.BEATS_PER_BAR):
        ax.axvline(b, color="0.85", lw=0.6, zorder=0)
    if label:
        ax.set_xlabel("beat in bar", fontsize=8)


def _band_axis(ax, label: bool) -> None:
    hz = [L.LOUDNESS_EDGES_HZ[e] for e in HZ_EDGES]
    ax.set_xticks([e - 0.5 for e in HZ_EDGES], [f"{f:.0f}" if f < 1000 else f"{f / 1000:.1f}k"
                                                 for f in hz])
    ax.set_xlim(-0.5, L.LOUDNESS_BANDS - 0.5)
    if label:
        ax.set_xlabel("loudness band (Hz)", fontsize=8)


def unit_effects(model: DeepAutoencoder, x_train: np.ndarray, codes_train: np.ndarray,
                 n_std: float = 2.0) -> np.ndarray:
    """(units, D) z-scored: decode(code of the mean song, unit j high) - decode(..., unit j low),
    unit j moved n_std of its train std either way, kept inside the range it took on train."""
    base = encode(model, x_train.mean(0, keepdims=True))[0]
    lo_seen, hi_seen = codes_train.min(0), codes_train.max(0)
    step = n_std * codes_train.std(0)
    units = len(base)
    high, low = np.tile(base, (units, 1)), np.tile(base, (units, 1))
    idx = np.arange(units)
    high[idx, idx] = np.minimum(base + step, np.maximum(hi_seen, base))
    low[idx, idx] = np.maximum(base - step, np.minimum(lo_seen, base))
    return _decode(model, high) - _decode(model, low)


def unit_figure(model, x_train, codes_train, raw) -> plt.Figure:
    effect = unit_effects(model, x_train, codes_train)
    # in the features' units: the z-scored difference times prepare's std
    delta = raw(effect) - raw(np.zeros_like(effect))
    rhythm, loud = _rhythm(delta), _loudness(delta)
    units = len(effect)
    rows, cols = _grid(units, 7)
    fig, axes = plt.subplots(2 * rows, cols, figsize=(2.3 * cols, 3.0 * rows + 0.8),
                             squeeze=False, layout="constrained")
    r_lim = 1.05 * max(np.abs(rhythm).max(), 1e-6)
    l_lim = 1.05 * max(np.abs(loud[:, :, SHOWN_QUANTILES]).max(), 1e-6)
    for j in range(rows * cols):
        ax_r, ax_l = axes[2 * (j // cols), j % cols], axes[2 * (j // cols) + 1, j % cols]
        if j >= units:
            ax_r.axis("off")
            ax_l.axis("off")
            continue
        first_col, last_row = j % cols == 0, j // cols == rows - 1
        for b, name in enumerate(L.RHYTHM_NAMES):
            ax_r.plot(BEATS, rhythm[j, b], color=BAND_COLOURS[b], lw=0.7, label=name)
        ax_r.set_ylim(-r_lim, r_lim)
        _beat_axis(ax_r, False)
        ax_r.set_title(f"unit {j}", fontsize=9)
        for q, ls in zip(SHOWN_QUANTILES, (":", "-", "--")):
            ax_l.plot(loud[j, :, q], color="k", ls=ls, lw=0.8,
                      label=f"q{round(100 * L.QUANTILE_LEVELS[q])}")
        ax_l.axhline(0, color="0.8", lw=0.5, zorder=0)
        ax_l.set_ylim(-l_lim, l_lim)
        _band_axis(ax_l, last_row)
        if first_col:
            ax_r.set_ylabel("Δ rhythm\n(of peak)", fontsize=8)
            ax_l.set_ylabel("Δ loudness (dB)", fontsize=8)
        else:
            ax_r.set_yticklabels([])
            ax_l.set_yticklabels([])
        for ax in (ax_r, ax_l):
            ax.tick_params(labelsize=7)
    h_r, l_r = axes[0, 0].get_legend_handles_labels()
    h_l, l_l = axes[1, 0].get_legend_handles_labels()
    fig.legend(h_r + h_l, ["rhythm " + s for s in l_r] + ["loudness " + s for s in l_l],
               loc="outside lower center", ncol=6, fontsize=8, frameon=False)
    fig.suptitle("What each code unit draws: decoder output with the unit at the mean song's "
                 "code +2 std minus -2 std (train codes, kept within their range); rhythm over "
                 "the bar above, loudness quantiles per band below", fontsize=10)
    return fig


def preferred_inputs(weight: np.ndarray, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Seed 004: the input of norm 1 that most excites layer-1 unit j is w_j / ||w_j||. For the
    first `n_units` units: rhythm (units, 3, 32), each 1/32 note's mean over its 12 ticks (one
    tick's weight is mostly noise, the pattern shows), and loudness (units, 30, 11)."""
    norm = np.linalg.norm(weight[:n_units], axis=1, keepdims=True)
    w = weight[:n_units] / np.maximum(norm, 1e-12)      # a unit past PCA's rank has none: 0
    return _rhythm(w).reshape(len(w), L.RHYTHM_BANDS, -1, BIN_TICKS).mean(-1), _loudness(w)


def preferred_input_figure(weight: np.ndarray, n_units: int) -> plt.Figure:
    rhythm, loud = preferred_inputs(weight, n_units)
    rows, cols = _grid(len(rhythm), 6)
    # one colour scale for every panel
    vmax = max(np.quantile(np.abs(np.concatenate([rhythm.ravel(), loud.ravel()])), 0.995), 1e-9)
    fig, axes = plt.subplots(2 * rows, cols, figsize=(2.4 * cols, 2.2 * rows + 0.8),
                             squeeze=False, gridspec_kw={"height_ratios": [1, 1.4] * rows},
                             layout="constrained")
    kw = dict(cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest", aspect="auto")
    im = None
    for j in range(rows * cols):
        ax_r, ax_l = axes[2 * (j // cols), j % cols], axes[2 * (j // cols) + 1, j % cols]
        if j >= len(rhythm):
            ax_r.axis("off")
            ax_l.axis("off")
            continue
        ax_r.imshow(rhythm[j], extent=(0, L.BEATS_PER_BAR, L.RHYTHM_BANDS - 0.5, -0.5), **kw)
        im = ax_l.imshow(loud[j].T, origin="lower", **kw)
        ax_r.set_title(f"unit {j}", fontsize=9)
        ax_r.set_xticks(range(L.BEATS_PER_BAR + 1))
        ax_r.set_yticks(range(L.RHYTHM_BANDS), L.RHYTHM_NAMES if j % cols == 0 else [])
        ax_l.set_yticks([0, 5, 10], ["0%", "50%", "100%"] if j % cols == 0 else [])
        _band_axis(ax_l, j // cols == rows - 1)
        if j // cols == rows - 1:
            ax_r.set_xlabel("beat in bar", fontsize=7)
        if j % cols == 0:
            ax_l.set_ylabel("quantile", fontsize=7)
        for ax in (ax_r, ax_l):
            ax.tick_params(labelsize=6)
    fig.suptitle(f"Preferred inputs of layer-1 units 0-{len(rhythm) - 1} (w_j / ||w_j||, z-scored "
                 "features): rhythm band x beat above (mean per 1/32 note), loudness quantile x "
                 "band below; one colour scale", fontsize=10)
    fig.colorbar(im, ax=axes, shrink=0.6, label="weight (unit norm)")
    return fig


def code_map_figure(codes_train: np.ndarray, codes_test: np.ndarray, what: str,
                    labels: np.ndarray) -> plt.Figure:
    pca = PCA.fit(codes_train, 2)
    xy = pca.encode(codes_test)
    total = ((codes_train - codes_train.mean(0)) ** 2).sum()
    share = [((pca.encode(codes_train)[:, i] ** 2).sum() / max(total, 1e-12)) for i in (0, 1)]
    fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
    names = sorted(set(labels.tolist()))
    markers = "os^Dv<>p*h"
    for i, name in enumerate(names):
        at = labels == name
        ax.scatter(xy[at, 0], xy[at, 1], s=22, color=plt.get_cmap("tab20")(i % 20),
                   marker=markers[i // 20 % len(markers)], label=f"{name} ({at.sum()})",
                   edgecolors="k", linewidths=0.3)
    ax.set_xlabel(f"PC 1 of the train songs' codes ({100 * share[0]:.0f} % of their variance)")
    ax.set_ylabel(f"PC 2 ({100 * share[1]:.0f} %)")
    ax.set_title(f"{len(xy)} test songs' {codes_test.shape[1]}-d codes, coloured by {what}")
    ax.legend(title=what, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def reconstruction_figure(model, pca, x_train, x_test, raw, labels, names,
                          n_songs) -> plt.Figure:
    """Rows: test songs (the first of each label, then the next ones); columns: the three
    rhythm bands and the loudness quantiles; the song, the fine-tuned net's and PCA's
    reconstruction at the code size, in the features' units."""
    first = list(dict.fromkeys(labels.tolist()))
    picks = [int(np.flatnonzero(labels == name)[0]) for name in first][:n_songs]
    picks += [i for i in range(len(x_test)) if i not in picks][:n_songs - len(picks)]
    code = pca.k
    mean = x_train.mean(0)
    chosen = x_test[picks]
    shown = {"song": chosen, "fine-tuned": reconstruct(model, chosen),
             f"PCA-{code}": pca.reconstruct(chosen)}
    style = {"song": dict(color="k", lw=1.0), "fine-tuned": dict(color="tab:red", lw=0.9),
             f"PCA-{code}": dict(color="tab:blue", lw=0.8, ls="--")}
    fig, axes = plt.subplots(len(picks), 4, figsize=(14, 2.3 * len(picks) + 0.8), squeeze=False,
                             sharey="col", layout="constrained")
    for row, i in enumerate(picks):
        err = {k: ((v[row] - chosen[row]) ** 2).sum() / ((chosen[row] - mean) ** 2).sum()
               for k, v in shown.items() if k != "song"}
        for name, v in shown.items():
            u = raw(v[row])
            for b in range(L.RHYTHM_BANDS):
                axes[row, b].plot(BEATS, _rhythm(u)[b], label=name, **style[name])
            for q, alpha in zip(SHOWN_QUANTILES, (0.45, 1.0, 0.45)):
                axes[row, 3].plot(_loudness(u)[:, q], alpha=alpha, **style[name])
        axes[row, 0].set_ylabel(f"{names[i]}\n[{labels[i]}]", fontsize=8)
        axes[row, 3].set_title("relative error " + ", ".join(f"{k} {v:.2f}"
                                                            for k, v in err.items()), fontsize=8)
        for b, band in enumerate(L.RHYTHM_NAMES):
            _beat_axis(axes[row, b], row == len(picks) - 1)
            if row == 0:
                axes[row, b].set_title(f"rhythm {band} (of peak)", fontsize=9)
        _band_axis(axes[row, 3], row == len(picks) - 1)
        axes[row, 3].yaxis.set_label_position("right")
        axes[row, 3].set_ylabel("dBFS", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.suptitle("Test songs and their reconstructions (loudness: 10 %, 50 %, 90 % quantiles, "
                 "median darkest)", fontsize=10)
    return fig


def _save(fig: plt.Figure, path: Path) -> Path:
    """The figure as PNG, atomically (the layout is each figure's own: constrained)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
