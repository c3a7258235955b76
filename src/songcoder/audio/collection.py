"""A music collection: find songs, check each one, split them, write the manifest.

Splits are decided by hashing (seed, song id), so adding songs to a collection never moves an
existing song between train and test. Exact duplicates (same bytes) are kept once: a copy in
train and another in test would leak.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from songcoder.atomic import save_text
from songcoder.audio.io import AudioError, validate

SPLITS = ("train", "val", "test")
MANIFEST_COLUMNS = ["id", "path", "duration", "sample_rate", "channels", "split", "sha1"]
SKIPPED_COLUMNS = ["file", "reason"]


@dataclass
class Checked:
    """The outcome of checking one file: a manifest row or a reason to skip it."""

    path: str
    row: dict[str, Any] | None = None
    reason: str = ""
    labels: dict[str, Any] = field(default_factory=dict)


def find_files(folder: str | Path) -> list[Path]:
    """Every regular file below `folder`, sorted; hidden files and folders are left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(folder)
    files = [p for p in folder.rglob("*")
             if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(files)


def song_id(relpath: str) -> str:
    return hashlib.sha1(relpath.encode()).hexdigest()[:12]


def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def check_file(args: tuple[str, str, float, float | None]) -> Checked:
    """Worker: validate one file (path, id, min_seconds, max_seconds). Never raises for bad audio."""
    path, sid, min_seconds, max_seconds = args
    try:
        info = validate(path, min_seconds, max_seconds)
        digest = _sha1(Path(path))
    except AudioError as e:
        return Checked(path, reason=str(e))
    except Exception as e:  # a decoder bug must not take the whole collection down
        return Checked(path, reason=f"unexpected error: {type(e).__name__}: {e}")
    row = {"id": sid, "path": path, "duration": round(info.duration, 4),
           "sample_rate": info.sample_rate, "channels": info.channels, "sha1": digest}
    return Checked(path, row=row)


def assign_splits(ids: list[str], fractions: list[float], seed: int) -> list[str]:
    """Split by a hash of (seed, id): stable when songs are added.

    For small collections (< 20 songs) hash order is cut by counts instead, so every split
    with a non-zero fraction still gets a song when there are enough songs.
    """
    u = np.array([int(hashlib.sha1(f"{seed}:{i}".encode()).hexdigest()[:12], 16) / 16**12
                  for i in ids])
    cuts = np.cumsum(fractions)[:-1]
    if len(ids) >= 20:
        return [SPLITS[int(np.searchsorted(cuts, x, side="right"))] for x in u]
    n = len(ids)
    counts = [int(round(f * n)) for f in fractions]
    for k in (2, 1):  # make room for every non-empty split, taking from train
        if fractions[k] > 0 and counts[k] == 0 and n - sum(counts[1:]) > 1:
            counts[k] = 1
    counts[0] = n - counts[1] - counts[2]
    order = np.argsort(u, kind="stable")
    out = [""] * n
    labels = ["train"] * counts[0] + ["val"] * counts[1] + ["test"] * counts[2]
    for rank, idx in enumerate(order):
        out[idx] = labels[rank]
    return out


def dedupe(checked: list[Checked]) -> None:
    """Turn exact duplicates (same sha1) into skips naming the file kept."""
    first: dict[str, str] = {}
    for c in checked:
        if c.row is None:
            continue
        digest = c.row["sha1"]
        if digest in first:
            c.reason = f"duplicate of {first[digest]}"
            c.row = None
        else:
            first[digest] = c.path


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def write_outputs(checked: list[Checked], manifest: Path, skipped: Path,
                  fractions: list[float], seed: int) -> tuple[list[dict], list[dict]]:
    """Split the usable songs and write manifest.csv and skipped.csv atomically."""
    dedupe(checked)
    good = [c for c in checked if c.row is not None]
    splits = assign_splits([c.row["id"] for c in good], fractions, seed)
    label_cols: list[str] = []
    rows = []
    for c, split in zip(good, splits):
        for k in c.labels:
            if k not in label_cols:
                label_cols.append(k)
        rows.append({**c.row, "split": split, **c.labels})
    bad = [{"file": c.path, "reason": c.reason} for c in checked if c.row is None]
    save_text(manifest, to_csv(rows, MANIFEST_COLUMNS + label_cols))
    save_text(skipped, to_csv(bad, SKIPPED_COLUMNS))
    return rows, bad


def relative_names(paths: list[str]) -> list[str]:
    """Each path relative to the deepest folder holding them all: names a person can tell
    apart (a/track6.opus, b/track6.opus) without the prefix every song shares."""
    full = [os.path.abspath(p) for p in paths]
    if not full:
        return []
    top = os.path.commonpath([os.path.dirname(p) for p in full])
    return [os.path.relpath(p, top) for p in full]


def file_names(paths: list[str]) -> list[str]:
    """relative_names as flat file names without the extension (a__track6, b__track6)."""
    return [os.path.splitext(n)[0].replace(os.sep, "__") for n in relative_names(paths)]


def read_manifest(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
