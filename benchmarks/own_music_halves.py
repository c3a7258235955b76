"""Issue 12's own protocol on a workspace trained on your music: every track cut in halves.

    PYTHONPATH=src python benchmarks/own_music_halves.py --root . [--name NAME] [--workers 2]

After the README's own-music command (or `make real`) in ROOT: every song of the collection
(`data/manifest.csv`) is cut in halves as `prepare` cuts them (`audio.io.halves`); each half gets
the code `songcoder embed` would give it (prepare's features, the trained serving encoder), the
raw vector, PCA-21 of the raw vectors (fitted on the halves) and the project's librosa peer.
Each representation is z-scored over all halves; does a half's nearest other half (Euclidean)
come from the same song? That is how the issue's author measured (51 tracks, 90 halves), and
unlike `evaluate` it includes the songs the encoder learned from, so the figures are reported
for all songs, for the songs it never learned from (val and test) and for the test songs.
Writes benchmarks/results/own_music_halves.json (one entry per --name; reruns replace it).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from songcoder.atomic import save_json
from songcoder.cli import Encoder
from songcoder.config import load_section
from songcoder.evaluate import librosa_baseline
from songcoder.evaluate.retrieval import mrr_halves, top1_halves, zscorer
from songcoder.features.extract import song_vector_kwargs
from songcoder.parallel import imap
from songcoder.pca import PCA

sys.path.insert(0, str(Path(__file__).parent))
from same_song_cv import _song_halves, _split_ids  # noqa: E402  (one way to cut and featurise)

OUT = Path(__file__).parent / "results" / "own_music_halves.json"


def _z(a: np.ndarray) -> np.ndarray:
    """(2, N, D) z-scored over all 2N halves (the issue's protocol)."""
    return zscorer(a.reshape(-1, a.shape[-1]))(a)


def _score(a: np.ndarray, keep: np.ndarray) -> dict:
    first, second = a[0, keep], a[1, keep]
    return {"top1": round(top1_halves(first, second), 4),
            "mrr": round(mrr_halves(first, second), 4), "halves": 2 * int(keep.sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, help="a workspace trained on a folder of music")
    ap.add_argument("--name", default="own_music")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if args.root is None:                     # `make bench` runs every benchmark without args
        print("own_music_halves: skipped (needs --root DIR, a workspace trained on your music)")
        return
    root = args.root
    enc = Encoder(str(root / "models/sdae.pt"), str(root / "data/features/norm.npz"),
                  str(root / "params.yaml"))
    kw = song_vector_kwargs(load_section("prepare", str(root / "params.yaml")))
    with open(root / "data/manifest.csv", newline="") as fh:
        rows = [{**r, "path": str(root / r["path"])} for r in csv.DictReader(fh)]
    split = {i: s for s in ("train", "val", "test") for i in _split_ids(root / "data/features", s)}
    peer, _ = librosa_baseline.halves_features(rows, args.workers)
    ok = np.array([not h.error for h in peer])
    rows = [r for r, good in zip(rows, ok) if good]
    raw = np.stack(list(imap(_song_halves, [(r["path"], kw) for r in rows], workers=args.workers,
                             desc="songcoder halves")), axis=1)               # (2, N, D)
    lib = np.stack([h.vectors for h, good in zip(peer, ok) if good], axis=1)
    pca = PCA.fit(_z(raw).reshape(-1, raw.shape[-1]), 21)
    reps = {"code": _z(np.stack([enc.codes(h) for h in raw])), "raw": _z(raw),
            "pca_21": _z(np.stack([pca.encode(h) for h in _z(raw)])), "librosa": _z(lib)}
    which = np.array([split.get(r["id"], "") for r in rows])
    entry = {"songs": {s: int((which == s).sum()) for s in ("train", "val", "test")},
             "skipped": [h.id for h in peer if h.error]}
    for name, keep in (("all", np.ones(len(rows), bool)), ("not_train", which != "train"),
                       ("test", which == "test")):
        entry[name] = {k: _score(v, keep) for k, v in reps.items()}
        print(name, {k: v["top1"] for k, v in entry[name].items()}, flush=True)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    results[args.name] = entry
    save_json(OUT, results)


if __name__ == "__main__":
    main()
