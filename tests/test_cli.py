"""The `songcoder` command on a pipeline run by `dvc repro` (tiny corpus), as a person uses it."""

import json

import numpy as np

from tests.conftest import run


def test_embed_gives_codes_and_one_line_errors(pipeline, tmp_path):
    song = pipeline.path / "data/audio/synth-00000.flac"
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"ID3 not really an mp3")
    p = run(["songcoder", "embed", str(song), str(bad), str(tmp_path / "missing.wav")],
            pipeline.path)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["file"] for r in rows] == [str(song), str(bad), str(tmp_path / "missing.wav")]
    assert len(rows[0]["code"]) == 21 and np.isfinite(rows[0]["code"]).all()
    assert "error" in rows[1] and "error" in rows[2]
    ours = [line for line in p.stderr.splitlines() if line.startswith("songcoder embed:")]
    assert len(ours) == 2 and str(bad) in ours[0]
    csv_out = run(["songcoder", "embed", "--format", "csv", str(song)], pipeline.path).stdout
    header, line = csv_out.splitlines()
    assert header.startswith("file,error,c0") and len(line.split(",")) == 2 + 21


def test_embed_fails_only_when_nothing_worked(pipeline, tmp_path):
    p = run(["songcoder", "embed", str(tmp_path / "nope.flac")], pipeline.path, check=False)
    assert p.returncode == 1 and "nope.flac" in p.stderr


def test_similar_finds_the_song_itself_first(pipeline):
    song = pipeline.path / "data/audio/synth-00004.flac"
    p = run(["songcoder", "similar", str(song), "--k", "3", "--json"], pipeline.path)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(rows) == 3 and rows[0]["path"].endswith("synth-00004.flac")
    assert rows[0]["distance"] < 1e-3 and rows[0]["distance"] <= rows[1]["distance"]


def test_runs_and_info_and_help(pipeline, tmp_path):
    out = run(["songcoder", "runs"], pipeline.path).stdout
    assert "ae_21" in out and len(out.splitlines()) == 2
    assert "(present)" in run(["songcoder", "info"], pipeline.path).stdout
    assert "nearest songs" in run(["songcoder", "--help"], pipeline.path).stdout
    other = tmp_path / "elsewhere"
    other.mkdir()
    p = run(["songcoder", "embed", str(tmp_path)], other, check=False)
    assert p.returncode == 2 and "models/sdae.pt not found" in p.stderr
