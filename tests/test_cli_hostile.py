"""`songcoder embed/similar/generate` on hostile input: one clear line per bad file naming it,
the good files still processed, non-zero exit only when nothing could be done, and no
tracebacks, including when the pipeline never ran or a model file is broken."""

import json
import os
from pathlib import Path

import pytest



@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, words its error must contain)."""
    d = tmp_path / "bad"
    d.mkdir()
    (d / "empty.wav").touch()
    (d / "text.wav").write_text("not audio at all\n")
    (d / "folder.flac").mkdir()
    (d / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    os.mkfifo(d / "pipe.wav")              # would block a reader forever
    locked = d / "locked.wav"
    locked.write_bytes(b"RIFF")
    locked.chmod(0)
    files = {
        "missing": (d / "missing.wav", "No such file"),
        "empty": (d / "empty.wav", "empty file"),
        "text": (d / "text.wav", "not audio"),
        "folder": (d / "folder.flac", "is a folder"),
        "png": (d / "image.png", "not audio"),
        "fifo": (d / "pipe.wav", "not a regular file"),
        "under_a_file": (d / "text.wav" / "x.wav", "Not a directory"),
    }
    if os.geteuid() != 0:  # root reads mode-000 files
        files["unreadable"] = (locked, "Permission denied")
    return files


def our_lines(stderr: str, command: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith(f"songcoder {command}:")]


def test_embed_keeps_the_good_files_and_names_each_bad_one(songcoder, pipeline, bad_files):
    good = [pipeline.path / "data/audio/synth-00000.flac", pipeline.path / "data/audio/synth-00001.flac"]
    bad = [p for p, _ in bad_files.values()]
    args = [str(good[0]), *map(str, bad), str(good[1])]
    p = songcoder(["embed", *args], pipeline.path)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["file"] for r in rows] == args
    assert len(rows[0]["code"]) == 21 and len(rows[-1]["code"]) == 21
    lines = our_lines(p.stderr, "embed")
    assert len(lines) == len(bad)
    for line, (path, words) in zip(lines, bad_files.values()):
        assert line.startswith(f"songcoder embed: {path}: ") and words in line, line

    p = songcoder(["embed", *map(str, bad)], pipeline.path, check=False)
    assert p.returncode == 1 and len(our_lines(p.stderr, "embed")) == len(bad)


def test_similar_and_generate_name_a_bad_file_in_one_line(songcoder, pipeline, bad_files,
                                                          tmp_path):
    for name in ("missing", "folder", "fifo"):
        path, words = bad_files[name]
        p = songcoder(["similar", str(path)], pipeline.path, check=False)
        assert p.returncode == 1 and our_lines(p.stderr, "similar") == [
            line for line in p.stderr.splitlines() if line.strip()], p.stderr
        assert str(path) in p.stderr and words in p.stderr
    path, words = bad_files["empty"]
    p = songcoder(["generate", "--seed", str(path), "--out", str(tmp_path / "o.wav")],
            pipeline.path, check=False)
    assert p.returncode == 1 and words in p.stderr and len(our_lines(p.stderr, "generate")) == 1
    song = pipeline.path / "data/audio/synth-00000.flac"
    a_file = tmp_path / "a_file"
    a_file.touch()
    for out, words in ((tmp_path, "is a folder"), (tmp_path / "o.xyz", "use a .wav"),
                       (a_file / "o.wav", "cannot write")):
        p = songcoder(["generate", "--seed", str(song), "--out", str(out),
                 "--seconds", "0.1"], pipeline.path, check=False)
        assert p.returncode != 0 and words in p.stderr, p.stderr
        assert len(our_lines(p.stderr, "generate")) == 1, p.stderr
    p = songcoder(["similar", str(song), "--k", "0"], pipeline.path, check=False)
    assert p.returncode == 2 and "--k: must be > 0" in p.stderr


def test_no_pipeline_or_broken_models_give_one_line(songcoder, pipeline, tmp_path):
    empty = tmp_path / "never_ran"
    empty.mkdir()
    song = str(pipeline.path / "data/audio/synth-00000.flac")
    for cmd, missing in ((["embed", song], "models/sdae.pt not found"),
                         (["similar", song], "models/sdae.pt not found"),
                         (["generate", "--seed", song, "--out", "o.wav"], "models/rnn.pt not found")):
        p = songcoder([*cmd], empty, check=False)
        assert p.returncode == 2 and missing in p.stderr and "dvc repro" in p.stderr
        assert len(our_lines(p.stderr, cmd[0])) == 1, p.stderr
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"PK\x03\x04 half a torch zip")
    for cmd in (["embed", song], ["generate", "--seed", song, "--out", str(tmp_path / "o.wav")]):
        p = songcoder([*cmd, "--model", str(broken)], pipeline.path, check=False)
        assert p.returncode == 2 and f"{broken}: cannot load the model" in p.stderr, p.stderr
        assert len(our_lines(p.stderr, cmd[0])) == 1
