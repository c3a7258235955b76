"""The librosa peer of same-song retrieval, on real audio files written in the test."""

import os
from pathlib import Path

import numpy as np

from songcoder.audio.io import load, resample
from songcoder.audio.synth import render_song
from songcoder.evaluate import librosa_baseline as lb
from songcoder.evaluate.retrieval import top1_halves, zscorer
from tests.conftest import write_audio

SR = 22050


def _songs(tmp_path: Path, n: int) -> dict[str, dict[str, str]]:
    rows = {}
    for i in range(n):
        audio, _ = render_song(i, 7, 5.0, SR)
        path = write_audio(tmp_path / f"song{i}.ogg", audio, SR)   # a lossy file, as in real life
        rows[f"s{i}"] = {"id": f"s{i}", "path": str(path)}
    return rows


def test_halves_are_cut_as_prepare_cuts_them_and_found_again(tmp_path):
    rows = _songs(tmp_path, 8)
    (tmp_path / "broken.ogg").write_bytes(b"OggS" + bytes(2000))
    rows["bad"] = {"id": "bad", "path": str(tmp_path / "broken.ogg")}
    test = ["s0", "s1", "bad", "s2", "s3", "s4"]
    p = lb.peer_halves(rows, test, ["s5", "s6", "s7"], train_songs=2, workers=1, seed=0)

    assert p.ok.tolist() == [True, True, False, True, True, True]
    assert "not audio" in p.errors["bad"] and list(p.errors) == ["bad"]
    assert p.first.shape == p.second.shape == (6, lb.DIM) and np.isnan(p.first[2]).all()
    assert p.zscore == "train" and p.stats_rows.shape == (2 * 2, lb.DIM)   # both halves of 2 songs
    x, sr = load(rows[test[3]]["path"])                                    # prepare's cut
    mid = len(x) // 2
    for got, half in ((p.first[3], x[:mid]), (p.second[3], x[mid:])):
        assert np.array_equal(got, lb.features(resample(half.mean(axis=1), sr, lb.SAMPLE_RATE)))
    assert p.speed["songs"] == 8 and p.speed["failed"] == 1
    assert p.speed["audio_seconds"] == round(7 * 5.0, 2) and p.speed["realtime_factor"] > 0

    z = zscorer(p.stats_rows)
    a, b = z(p.first[p.ok]), z(p.second[p.ok])
    assert top1_halves(a, b) >= 0.8            # different synthetic songs are told apart
    own = lb.peer_halves(rows, ["s0", "s1"], [], train_songs=5, workers=1, seed=0)
    assert own.zscore == "halves" and own.stats_rows.shape == (4, lb.DIM)


def test_feature_groups_cover_the_vector():
    y = np.random.default_rng(0).normal(size=3 * SR).astype(np.float32) * 0.1
    v = lb.features(y)
    assert v.shape == (lb.DIM,) and np.isfinite(v).all()
    cols = sorted((s.start, s.stop) for s in lb.GROUPS.values())
    assert cols[0][0] == 0 and cols[-1][1] == lb.DIM
    assert all(a[1] == b[0] for a, b in zip(cols, cols[1:]))
    assert len(lb.TEMPO_EDGES) == lb.TEMPO_BINS + 1 == 33


def test_librosa_compiles_once_into_a_cache_of_its_own(tmp_path):
    """Workers read a cache the parent wrote alone (two compiling at once corrupted the shared
    one); the user's setting comes back and the folder goes afterwards. In a fresh interpreter,
    as the evaluate stage is (this one has compiled librosa already)."""
    import subprocess
    import sys

    code = ("import os, pathlib; from songcoder.evaluate import librosa_baseline as lb\n"
            "with lb.compiled_once():\n"
            "    cache = pathlib.Path(os.environ['NUMBA_CACHE_DIR'])\n"
            "    print(cache.is_dir() and any(cache.rglob('*.nbi')))\n"
            "print(os.environ['NUMBA_CACHE_DIR'], cache.exists())\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "users-own")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout.split()
    assert out == ["True", str(tmp_path / "users-own"), "False"]
