"""The librosa peer of same-song retrieval, on real audio files written in the test."""

import os
from pathlib import Path

import numpy as np
import pytest

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


@pytest.mark.slow   # three interpreters, two of them compiling librosa's numba code (~40 s of CPU);
# in the default suite the pipeline's evaluate stages publish and reuse the cache one at a time
def test_librosa_compiles_once_into_a_cache_kept_between_runs(tmp_path):
    """Two runs that find no cache both compile, each into a folder of its own, and one of them
    publishes it (two compiling into one folder corrupted it); a later run only reads it: no file
    is written or rewritten. The user's NUMBA_CACHE_DIR comes back afterwards. In fresh
    interpreters, as evaluate stages are (this one has compiled librosa already)."""
    import subprocess
    import sys

    code = ("import os; import numpy as np; from songcoder.evaluate import librosa_baseline as lb\n"
            "with lb._numba_cache_dir(lb.numba_cache()):\n"
            "    print(os.environ['NUMBA_CACHE_DIR'])\n"
            "    lb.features(np.ones(22050, np.float32))\n"
            "print(os.environ['NUMBA_CACHE_DIR'])\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "users-own"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def start():
        return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                text=True)

    def stamps(folder):
        return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}

    racing = [start(), start()]
    outs = [p.communicate(timeout=300)[0].split() for p in racing]
    assert [p.returncode for p in racing] == [0, 0]
    (folder,) = (tmp_path / "cache" / "songcoder").iterdir()     # one published, no leftovers
    assert outs == [[str(folder), str(tmp_path / "users-own")]] * 2
    before = stamps(folder)
    assert any(p.suffix == ".nbi" for p in before) and any(p.suffix == ".nbc" for p in before)
    later = start()
    assert later.communicate(timeout=300)[0].split()[0] == str(folder) and later.returncode == 0
    assert stamps(folder) == before
