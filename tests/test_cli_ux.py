"""`songcoder` as a first-hour user meets it, without a trained pipeline: help that says every
option's default, --version, a closed pipe, no MLflow store made by looking, the end-of-run
summary, and names that tell songs in different folders apart."""

import argparse
import json
import subprocess
from importlib.metadata import version

import numpy as np
import soundfile as sf

from songcoder.audio.collection import file_names, relative_names
from songcoder.cli import parser
from songcoder.summary import grouped, summary
from tests.conftest import run, tool_env


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_has_help_and_its_default_shown(tmp_path):
    subs = _subparsers()
    assert {"embed", "similar", "playlist", "generate", "runs", "info", "summary"} <= set(subs)
    for name, sub in subs.items():
        text = sub.format_help()
        for a in sub._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            assert a.help, f"{name} {a.option_strings or a.dest} has no help"
            if a.option_strings and a.default not in (None, False) and not a.required:
                assert f"(default: {a.default})" in " ".join(text.split()), (name, a.dest)
    # the real command prints the same
    out = run(["songcoder", "generate", "--help"], tmp_path).stdout
    assert "generate.phase_jitter, else 0.6)" in " ".join(out.split())
    assert "(default: models/rnn.pt)" in out
    assert "(default: 8.0)" in run(["songcoder", "playlist", "--help"], tmp_path).stdout


def test_version(tmp_path):
    assert run(["songcoder", "--version"], tmp_path).stdout.strip() == \
        f"songcoder {version('songcoder')}"


def test_a_closed_pipe_ends_quietly(tmp_path):
    for cmd in (["songcoder", "summary"], ["songcoder", "info"]):
        p = subprocess.Popen(cmd, cwd=tmp_path, env=tool_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.stdout.close()                      # the reader is gone before anything is written
        err = p.stderr.read().decode()
        p.wait(timeout=60)
        assert "Traceback" not in err and "BrokenPipe" not in err, err
        assert p.returncode == 141          # 128 + SIGPIPE, as a shell reports such a stop
    shell = subprocess.run("songcoder summary | head -1", shell=True, cwd=tmp_path,
                           env=tool_env(), capture_output=True, text=True, timeout=60)
    assert shell.stdout.startswith("songcoder: no metrics") and shell.stderr == ""


def test_runs_outside_a_project_creates_no_store(tmp_path):
    p = run(["songcoder", "runs"], tmp_path, check=False)
    assert p.returncode == 2 and "no MLflow store here" in p.stderr, p.stderr
    assert not list(tmp_path.iterdir()), "songcoder runs wrote something"
    p = run(["songcoder", "info"], tmp_path)
    assert "(missing)" in p.stdout and not list(tmp_path.iterdir())


def test_summary_gives_headlines_beside_their_baselines_and_where_to_look(tmp_path):
    m = tmp_path / "metrics"
    m.mkdir()
    (m / "ingest.json").write_text(json.dumps({"songs": 120, "skipped": 3}))
    (m / "evaluate.json").write_text(json.dumps(
        {"rel_error": {"finetuned_21": 0.1234, "pca_21": 0.2}, "retrieval": {}}))
    (m / "generate.json").write_text("{not json")
    text = summary(m)
    assert "songs 120, skipped 3" in text
    assert "21-d code 0.123, PCA-21 0.2" in text
    assert "tempo" not in text.split("where to look")[0]      # prepare did not run: no line
    assert "make ui" in text and "?workflowType=machine_learning" in text
    assert all(len(line) <= 80 for line in text.splitlines()[1:])
    out = run(["songcoder", "summary", "--metrics", str(m)], tmp_path).stdout
    assert out.strip() == text


def test_info_groups_leave_per_song_tables_to_the_file():
    g = grouped({"lsd_db": 14.2, "baselines": {"noise": {"lsd_db": 13.0}},
                 "per_song": {"a": {"lsd_db": 1.0}}, "skipped": {"b": "too short"}})
    assert g == {"": {"lsd_db": 14.2}, "baselines": {"noise.lsd_db": 13.0}}


def test_names_tell_folders_apart(tmp_path):
    paths = [str(tmp_path / "music/a/track6.opus"), str(tmp_path / "music/b/track6.opus"),
             str(tmp_path / "music/b/deep/x.flac")]
    assert relative_names(paths) == ["a/track6.opus", "b/track6.opus", "b/deep/x.flac"]
    assert file_names(paths) == ["a__track6", "b__track6", "b__deep__x"]
    assert relative_names([str(tmp_path / "one.wav")]) == ["one.wav"]


def test_generated_files_of_two_same_named_songs_do_not_overwrite(tmp_path):
    from songcoder.audio.synth import render_song
    from songcoder.config import GenerateConfig
    from songcoder.rnn.generate import generate_all
    from songcoder.rnn.model import AudioRNN

    paths = []
    for i, folder in enumerate(("a", "b")):
        p = tmp_path / folder / "track11.wav"
        p.parent.mkdir()
        sf.write(p, render_song(i, 0, 2.0, 8000)[0].mean(axis=1), 8000)
        paths.append(str(p))
    model = AudioRNN(frame=64, hidden=8, layers=1, representation="mulaw", embed=4,
                     sample_rate=8000)
    cfg = GenerateConfig(count=2, seed_seconds=0.5, seconds=0.5, temperature=1.0)
    metrics, files = generate_all(model.eval(), cfg, paths, tmp_path / "generated")
    assert sorted(metrics["per_song"]) == ["a__track11", "b__track11"]
    assert len(set(files)) == 4 and all((tmp_path / "generated" / f).exists() for f in files)
    assert not np.array_equal(sf.read(files[0])[0], sf.read(files[2])[0])
