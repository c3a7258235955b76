from pathlib import Path

import numpy as np

from tests.conftest import tone, write_audio
from songcoder.audio.collection import assign_splits, read_manifest
from songcoder.config import DataConfig
from songcoder.ingest import ingest


def test_splits_are_stable_when_songs_are_added():
    ids = [f"song{i}" for i in range(200)]
    before = dict(zip(ids, assign_splits(ids, [0.7, 0.15, 0.15], seed=1)))
    more = ids + [f"new{i}" for i in range(100)]
    after = dict(zip(more, assign_splits(more, [0.7, 0.15, 0.15], seed=1)))
    assert all(after[i] == before[i] for i in ids)
    counts = {s: list(before.values()).count(s) for s in ("train", "val", "test")}
    assert 115 <= counts["train"] <= 165 and counts["val"] > 10 and counts["test"] > 10
    assert assign_splits(ids, [0.7, 0.15, 0.15], seed=2) != list(before.values())


def test_small_collections_still_fill_every_split():
    for n in (3, 5, 11):
        splits = assign_splits([f"s{i}" for i in range(n)], [0.7, 0.15, 0.15], seed=0)
        assert {"train", "val", "test"} <= set(splits)


def test_folder_ingest_keeps_good_songs_and_lists_every_bad_one(tmp_path: Path):
    music = tmp_path / "music"
    write_audio(music / "a.flac", tone(5, 22050, 220), 22050)
    write_audio(music / "sub" / "b.wav", tone(5, 44100, 330), 44100)
    write_audio(music / "sub" / "b_copy.wav", tone(5, 44100, 330), 44100)  # same bytes
    write_audio(music / "six.flac", tone(5, 22050, 440, channels=6), 22050)
    write_audio(music / "short.wav", tone(0.2, 22050), 22050)
    write_audio(music / "silent.wav", np.zeros((22050 * 5, 1), np.float32), 22050)
    (music / "cover.jpg").write_bytes(b"\xff\xd8\xff" + bytes(300))
    (music / "empty.ogg").touch()
    (music / ".hidden.wav").write_bytes(b"ignored")
    cfg = DataConfig(source="folder", folder=str(music), min_seconds=1.0, workers=1)
    out = tmp_path / "out"
    result = ingest(cfg, audio_dir=out / "audio", manifest=out / "manifest.csv",
                    skipped=out / "skipped.csv")
    rows = read_manifest(out / "manifest.csv")
    assert sorted(Path(r["path"]).name for r in rows) == ["a.flac", "b.wav", "six.flac"]
    assert {r["channels"] for r in rows} == {"2", "6"}
    reasons = {Path(r["file"]).name: r["reason"] for r in read_manifest(out / "skipped.csv")}
    assert set(reasons) == {"b_copy.wav", "short.wav", "silent.wav", "cover.jpg", "empty.ogg"}
    assert reasons["b_copy.wav"].startswith("duplicate of") and "b.wav" in reasons["b_copy.wav"]
    assert "too short" in reasons["short.wav"] and "silent" in reasons["silent.wav"]
    assert result.metrics["songs"] == 3 and result.metrics["skipped"] == 5
