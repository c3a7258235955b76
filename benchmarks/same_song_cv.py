"""Same-song retrieval by 5-fold cross-validation over the make-real train+val songs.

    PYTHONPATH=src nice -n 10 python benchmarks/same_song_cv.py --data data [--root .] \
        [--variant default --variant plain ...] [--seeds 0,1] [--workers 2] [--learn-folds 1]

Why: `make real`'s val split holds 19 songs (38 halves: one half is 0.026 of top-1), and a
setting chosen on it need not hold elsewhere: the tenth session's timbre weight lifted val top-1
from 0.79 to 0.88 over two seeds and dropped test from 0.75 to 0.58 (src/songcoder/sdae/README.md).
Here the 161 train+val songs are dealt into 5 folds by song. For each fold the autoencoder
(params.yaml's `sdae` section, a variant's keys changed) learns from the excerpt rows of three
folds, keep_best picks its epoch on a fourth, and each song of the fifth finds its other half
among that fold's halves (about 32 songs, 64 halves); pooled, that is 322 halves. With
--learn-folds 1 it learns from one fold only (about 32 songs, a small collection such as a
user's first folder), with the same held and pick folds. In the same
folds: PCA-21 fitted on the same rows, the raw vector (z-scored by those rows) and the librosa
peer (z-scored by the training folds' halves), and the relative error of the held-out songs'
whole-song rows for the code and PCA-21 (relative to the training rows' mean). The test split is
never read.

`prepare` cuts halves for val and test songs only, so the train songs' halves (songcoder vector,
with prepare's own code, params.yaml's `prepare` section and the data's feature layout) and every
song's librosa halves are computed here once and cached (--cache). DATA is a `make real` data
folder (features/, manifest.csv); --root is where its manifest's relative paths start. Writes
benchmarks/results/same_song_cv.json (one entry per variant, seed and vector width, e.g.
`default_seed0_1604d`; reruns add to it).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from songcoder.atomic import save_json
from songcoder.config import TrainerConfig, load_section
from songcoder.evaluate import librosa_baseline
from songcoder.evaluate.metrics import rel_error
from songcoder.evaluate.retrieval import partner_ranks, zscorer
from songcoder.features import layout
from songcoder.features.extract import song_features, song_vector_kwargs
from songcoder.features.norm import read_norm
from songcoder.audio.io import halves, load as load_audio
from songcoder.parallel import imap
from songcoder.pca import PCA
from songcoder.sdae import train as sdae
from songcoder.sdae.serving import encode, reconstruct

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "same_song_cv.json"
FOLDS = 5
VARIANTS = {
    "default": {},                                       # params.yaml's sdae section
    "plain": {"same_song_weight": 0.0},                  # the seeds' masked-self target alone
    "same_song10": {"same_song_weight": 10.0},           # the term's weight (30 in params.yaml)
    "same_song100": {"same_song_weight": 100.0},
    "extended8": {"extended_weight": 8.0},               # the extended groups' loss weight
    "extended50": {"extended_weight": 50.0},             # (100 in params.yaml)
    "extended100": {"extended_weight": 100.0},
}


def _split_ids(features: Path, split: str) -> list[str]:
    with open(features / f"{split}_index.csv", newline="") as f:
        return [r["id"] for r in csv.DictReader(f)]


def _excerpt_songs(features: Path, split: str) -> np.ndarray:
    with open(features / f"{split}_excerpts_index.csv", newline="") as f:
        return np.array([int(r["song"]) for r in csv.DictReader(f)], np.int64)


def _song_halves(job: tuple[str, dict]) -> np.ndarray:
    """Worker: the songcoder vectors of one file's halves, cut as `prepare` cuts them."""
    path, kw = job
    x, sr = load_audio(path)
    return np.stack([song_features(h, sr, **kw).vector for h in halves(x)])


def cached_halves(data: Path, root: Path, cache: Path, workers: int) -> dict:
    """{ids, song (2, N, D) normalised, peer (2, N, P), ok (N,)} for train then val songs."""
    f = data / "features"
    ids = _split_ids(f, "train") + _split_ids(f, "val")
    norm = read_norm(f / "norm.npz")
    dim = len(norm.mean)
    if cache.exists():
        with np.load(cache) as c:
            if list(c["ids"]) == ids and c["song"].shape[2] == dim:     # the same songs and layout
                return {k: c[k] for k in c.files}
    with open(data / "manifest.csv", newline="") as fh:
        by_id = {r["id"]: r for r in csv.DictReader(fh)}
    rows = [{**by_id[i], "path": str(root / by_id[i]["path"])} for i in ids]
    cfg = dataclasses.replace(load_section("prepare"),
                              features="extended" if dim == layout.EXTENDED_DIM else "seed")
    kw = song_vector_kwargs(cfg)
    n_train = len(_split_ids(f, "train"))
    t0 = time.perf_counter()
    train = list(imap(_song_halves, [(r["path"], kw) for r in rows[:n_train]], workers=workers,
                      desc="train halves"))
    song = np.concatenate([norm.apply(np.stack(train, axis=1)), np.load(f / "val_halves.npy")],
                          axis=1).astype(np.float32)
    peer, _ = librosa_baseline.halves_features(rows, workers)
    ok = np.array([not h.error for h in peer], bool)
    nan = np.full((2, librosa_baseline.DIM), np.nan, np.float32)
    p = np.stack([h.vectors if not h.error else nan for h in peer], axis=1)
    out = {"ids": np.array(ids), "song": song, "peer": p, "ok": ok}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    print(f"halves of {len(ids)} songs in {time.perf_counter() - t0:.0f} s -> {cache}", flush=True)
    return out


def roles(n_songs: int, k: int, learn_folds: int = FOLDS - 2
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(held, pick, learn) song masks of fold k: songs scored, songs keep_best judges epochs
    on, songs learned from (the `learn_folds` folds after those two, all three by default;
    one: a small collection of about 32 songs). Folds are dealt by a fixed shuffle, so every
    variant and seed sees the same ones."""
    if not 1 <= learn_folds <= FOLDS - 2:
        raise ValueError(f"learn_folds: expected 1..{FOLDS - 2}, got {learn_folds}")
    fold = np.random.default_rng(0).permutation(n_songs) % FOLDS
    held, pick = fold == k, fold == (k + 1) % FOLDS
    return held, pick, np.isin(fold, [(k + 2 + j) % FOLDS for j in range(learn_folds)])


def figures(ranks: dict[str, list[np.ndarray]]) -> dict:
    pooled = {k: np.concatenate(v) for k, v in ranks.items()}
    return {k: {"top1": float(np.mean(r == 1)), "mrr": float(np.mean(1.0 / r)), "halves": len(r),
                "top1_by_fold": [float(np.mean(f == 1)) for f in ranks[k]]}
            for k, r in pooled.items()}


def groups(h: dict) -> dict:
    """Raw same-song top-1 / MRR of each feature group alone, songcoder's and the librosa
    peer's, in the same folds (no training; z-scored by the learning folds' halves, as the peer
    is in `run`)."""
    sets = {f"songcoder_{k}": (h["song"], s) for k, s in layout.groups(h["song"].shape[2]).items()
            if not k.startswith("rhythm_")}
    sets["songcoder_rhythm"] = (h["song"], layout.RHYTHM)
    sets["songcoder_extra"] = (h["song"], slice(layout.DIM, h["song"].shape[2]))
    sets |= {f"librosa_{k}": (h["peer"], s) for k, s in librosa_baseline.GROUPS.items()}
    ranks: dict[str, list[np.ndarray]] = {k: [] for k in sets}
    for k in range(FOLDS):
        held, pick, learn = roles(h["song"].shape[1], k)
        fit, ok = learn & h["ok"], held & h["ok"]
        for name, (v, s) in sets.items():
            z = zscorer(v[:, fit, s].reshape(-1, s.stop - s.start))
            ranks[name].append(partner_ranks(z(v[0, ok, s]), z(v[1, ok, s])))
    return figures(ranks)


def run(data: Path, h: dict, over: dict, seed: int, log, learn_folds: int = FOLDS - 2) -> dict:
    f = data / "features"
    n_train = len(_split_ids(f, "train"))
    x = np.concatenate([np.load(f / "train_excerpts.npy"), np.load(f / "val_excerpts.npy")])
    song = np.concatenate([_excerpt_songs(f, "train"), _excerpt_songs(f, "val") + n_train])
    base = dataclasses.replace(load_section("sdae"), seed=seed, **over)
    trainer = TrainerConfig(accelerator="cpu", devices="1", deterministic=True)
    pca_name = f"pca_{base.layers[-1]}"          # PCA as wide as the code, whatever sdae.layers
    ranks: dict[str, list[np.ndarray]] = {"code": [], pca_name: [], "raw": [], "librosa": []}
    rel: dict[str, list[float]] = {"code": [], pca_name: []}
    for k in range(FOLDS):
        held, pick, learn = roles(h["song"].shape[1], k, learn_folds)
        rows, val_rows = learn[song], pick[song]
        _, _, model = sdae.train_all(base, trainer, x[rows], x[val_rows],
                                     songs=(song[rows], song[val_rows]))
        pca = PCA.fit(x[rows], base.layers[-1])
        a, b = h["song"][0][held], h["song"][1][held]
        for name, enc in (("code", lambda v: encode(model, v)), (pca_name, pca.encode),
                          ("raw", lambda v: v)):
            z = zscorer(enc(x[rows]))
            ranks[name].append(partner_ranks(z(enc(a)), z(enc(b))))
        ok = h["ok"] & held                      # the peer: songs librosa could read
        z = zscorer(h["peer"][:, h["ok"] & learn].reshape(-1, h["peer"].shape[2]))
        ranks["librosa"].append(partner_ranks(z(h["peer"][0][ok]), z(h["peer"][1][ok])))
        whole = np.array([np.flatnonzero(song == s)[-1] for s in np.flatnonzero(held)])
        mean = x[rows].mean(0)
        rel["code"].append(rel_error(x[whole], reconstruct(model, x[whole]), mean))
        rel[pca_name].append(rel_error(x[whole], pca.reconstruct(x[whole]), mean))
        log(f"fold {k}: top-1 " + ", ".join(f"{n_} {np.mean(r[-1] == 1):.3f}" for n_, r in ranks.items())
            + f"; rel. error code {rel['code'][-1]:.3f}, PCA {rel[pca_name][-1]:.3f}")
    out = figures(ranks)
    for name, v in rel.items():
        out[name]["rel_error"] = float(np.mean(v))
    out["code"]["rel_error_vs_pca"] = out["code"]["rel_error"] / out[pca_name]["rel_error"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="a `make real` data folder (features/, manifest.csv)")
    ap.add_argument("--root", type=Path, default=Path("."))
    ap.add_argument("--cache", type=Path, default=Path("real/cv-halves.npz"))
    ap.add_argument("--variant", action="append", choices=sorted(VARIANTS))
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--learn-folds", type=int, default=FOLDS - 2,
                    help="folds the autoencoder learns from: 3 (about 97 songs), 1 (about 32, a "
                         "small collection); entries of fewer get a _learnN suffix")
    ap.add_argument("--groups", action="store_true",
                    help="also each feature group's raw top-1 in the same folds (no training)")
    args = ap.parse_args()
    if not args.data:        # `make bench` runs every benchmark bare: this one needs real music
        print("same_song_cv: skipped (needs --data DIR, a `make real` data folder)")
        return
    torch.set_num_threads(1)
    log = lambda m: print(time.strftime("%H:%M:%S"), m, flush=True)      # noqa: E731
    h = cached_halves(args.data, args.root, args.cache, args.workers)
    if args.groups:
        res = groups(h)
        log("groups: " + json.dumps({k: round(v["top1"], 3) for k, v in res.items()}))
        results = json.loads(OUT.read_text()) if OUT.exists() else {}
        results[f"groups_{h['song'].shape[2]}d"] = res
        save_json(OUT, results)
    for variant in args.variant or ["default"]:
        for seed in (int(s) for s in args.seeds.split(",")):
            log(f"{variant} seed {seed}")
            res = run(args.data, h, VARIANTS[variant], seed, log, args.learn_folds)
            res["params"] = VARIANTS[variant]
            results = json.loads(OUT.read_text()) if OUT.exists() else {}   # other runs' too
            small = "" if args.learn_folds == FOLDS - 2 else f"_learn{args.learn_folds}"
            results[f"{variant}_seed{seed}_{h['song'].shape[2]}d{small}"] = res   # the layout too
            log(f"{variant} seed {seed}: " + json.dumps({k: {m: round(v[m], 3) for m in ("top1", "mrr")}
                                                          for k, v in res.items() if k != "params"}))
            save_json(OUT, results)


if __name__ == "__main__":
    main()
