"""The `songcoder` command on a pipeline run by `dvc repro` (tiny corpus), as a person uses it."""

import json
import re
from pathlib import Path

import numpy as np


def test_embed_gives_codes_and_one_line_errors(songcoder, pipeline, tmp_path):
    song = pipeline.path / "data/audio/synth-00000.flac"
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"ID3 not really an mp3")
    p = songcoder(["embed", str(song), str(bad), str(tmp_path / "missing.wav")],
            pipeline.path)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["file"] for r in rows] == [str(song), str(bad), str(tmp_path / "missing.wav")]
    assert len(rows[0]["code"]) == 21 and np.isfinite(rows[0]["code"]).all()
    assert "error" in rows[1] and "error" in rows[2]
    ours = [line for line in p.stderr.splitlines() if line.startswith("songcoder embed:")]
    assert len(ours) == 2 and str(bad) in ours[0]
    csv_out = songcoder(["embed", "--format", "csv", str(song)], pipeline.path).stdout
    header, line = csv_out.splitlines()
    assert header.startswith("file,error,c0") and len(line.split(",")) == 2 + 21


def test_embed_fails_only_when_nothing_worked(songcoder, pipeline, tmp_path):
    p = songcoder(["embed", str(tmp_path / "nope.flac")], pipeline.path, check=False)
    assert p.returncode == 1 and "nope.flac" in p.stderr


def test_similar_finds_the_song_itself_first(songcoder, pipeline):
    song = pipeline.path / "data/audio/synth-00004.flac"
    p = songcoder(["similar", str(song), "--k", "3", "--json"], pipeline.path)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(rows) == 3 and rows[0]["path"].endswith("synth-00004.flac")
    assert rows[0]["distance"] < 1e-3 and rows[0]["distance"] <= rows[1]["distance"]


def test_runs_and_info_and_help(songcoder, pipeline, tmp_path):
    out = songcoder(["runs"], pipeline.path).stdout
    assert "ae_21" in out and "lsd_db=" in out and len(out.splitlines()) == 3   # a run: 2 lines
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "(present)" in songcoder(["info"], pipeline.path).stdout
    assert "nearest songs" in songcoder(["--help"], pipeline.path).stdout
    other = tmp_path / "elsewhere"
    other.mkdir()
    p = songcoder(["embed", str(tmp_path)], other, check=False)
    assert p.returncode == 2 and "models/sdae.pt not found" in p.stderr


def test_stage_output_is_quiet_and_says_each_epoch(pipeline):
    log = pipeline.repro.stdout + pipeline.repro.stderr
    for noise in ("GPU available", "TPU available", "Tip:", "site-packages", "\x1b[",
                  "Downloading artifacts", "Successfully registered", "Creating initial"):
        assert noise not in log, noise
    for stage in ("pretrain_1", "finetune", "train_rnn"):   # not a terminal: one line an epoch
        beats = [line for line in log.splitlines() if line.startswith(f"{stage}: epoch ")]
        assert len(beats) == 2 and "2/2" in beats[1] and "loss" in beats[1], beats


def test_similar_shows_bpm_and_keeps_tempo_compatible_songs(songcoder, pipeline):
    from songcoder.playlist import tempo_fits
    song = str(pipeline.path / "data/audio/synth-00004.flac")
    every = [json.loads(line) for line in
             songcoder(["similar", song, "--k", "50", "--json"], pipeline.path)
             .stdout.splitlines()]
    assert len(every) == 12 and all(r["bpm"] > 0 for r in every)
    own = every[0]["bpm"]
    kept = [json.loads(line) for line in songcoder(["similar", song, "--k", "50",
                                              "--json", "--bpm-tolerance", "4"],
                                             pipeline.path).stdout.splitlines()]
    fits = [r["path"] for r in every if tempo_fits(own, r["bpm"], 0.04)]
    assert [r["path"] for r in kept] == fits and 1 <= len(fits) < 12
    table = songcoder(["similar", song, "--k", "3"], pipeline.path).stdout.splitlines()
    # the header's BPM is the query file's, recomputed; `own` is the index's, rounded to 3
    # decimals then to 1, so the two may differ by one in the last digit (113.4 vs 113.5)
    head = re.search(r": ([0-9.]+) BPM", table[0])
    assert head and abs(float(head[1]) - own) <= 0.1 + 1e-9, (table[0], own)
    assert "BPM" in table[1] and len(table) == 5


def test_similar_names_songs_relative_to_the_collection_folder(songcoder, pipeline,
                                                                tmp_path):
    """Two folders holding files of the same names: the table tells them apart."""
    import csv
    import shutil

    rows = list(csv.DictReader(open(pipeline.path / "data/manifest.csv")))
    for i, r in enumerate(rows):
        new = tmp_path / "music" / "ab"[i % 2] / f"track{i // 2}.flac"
        new.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(r["path"] if r["path"].startswith("/") else pipeline.path / r["path"], new)
        r["path"] = str(new)
    manifest = tmp_path / "manifest.csv"
    with open(manifest, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = songcoder(["similar", rows[0]["path"], "--k", "12", "--manifest",
               str(manifest)], pipeline.path).stdout
    names = [line.split()[-1] for line in out.splitlines()[2:]]
    assert names[0] == "a/track0.flac" and "b/track0.flac" in names and len(set(names)) == 12


def test_playlist_of_the_collection_and_of_files(songcoder, pipeline, tmp_path):
    out = songcoder(["playlist", "--bpm-tolerance", "6"], pipeline.path)
    lines = out.stdout.splitlines()
    assert lines[0] == "#EXTM3U" and len(lines) == 1 + 2 * 12
    paths = lines[2::2]
    assert len(set(paths)) == 12 and all(Path(p).is_file() for p in paths)
    assert all(line.startswith("#EXTINF:8,") and line.endswith(" BPM)") for line in lines[1::2])
    assert "12 songs" in out.stderr and "tempo clashes" in out.stderr
    songs = [str(pipeline.path / f"data/audio/synth-0000{i}.flac") for i in range(4)]
    m3u = tmp_path / "mix.m3u"
    p = songcoder(["playlist", *songs, "--out", str(m3u), "--first", songs[2]],
            pipeline.path)
    mix = m3u.read_text().splitlines()
    assert p.stdout == "" and sorted(mix[2::2]) == songs and mix[2] == songs[2]


def test_generate_says_what_it_wrote_and_draws_it(songcoder, pipeline, tmp_path):
    import soundfile as sf
    song = str(pipeline.path / "data/audio/synth-00000.flac")
    out = tmp_path / "continued.wav"
    p = songcoder(["generate", "--seed", song, "--seconds", "0.5", "--out", str(out)],
            pipeline.path)
    info = sf.info(out)
    assert info.channels == 1 and f"{info.samplerate} Hz, mono, {info.duration:.2f} s" in p.stdout
    assert (tmp_path / "continued.png").read_bytes()[:4] == b"\x89PNG"
    assert str(tmp_path / "continued.png") in p.stdout
    # unset options come from the params file's generate section, as the stage would use them
    params = tmp_path / "params.yaml"
    params.write_text("generate:\n  seconds: 0.25\n  seed_seconds: 1.5\n")
    p = songcoder(["generate", "--seed", song, "--out", str(out), "--params", str(params)],
                  pipeline.path)
    assert "(1.50 s seed + 0.25 s generated)" in p.stdout, p.stdout


def test_info_fits_80_columns(songcoder, pipeline):
    out = songcoder(["info"], pipeline.path).stdout
    assert "metrics/evaluate.json" in out and "rel_error:" in out
    assert all(len(line) <= 80 for line in out.splitlines()), max(out.splitlines(), key=len)


def test_playlist_names_an_unwritable_out_in_one_line(songcoder, pipeline, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.touch()
    p = songcoder(["playlist", "--out", str(a_file / "mix.m3u")], pipeline.path,
            check=False)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith(f"songcoder playlist: error: --out {a_file / 'mix.m3u'}: cannot")
