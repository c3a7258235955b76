"""A real `dvc repro ingest prepare` on a folder of songs: no DVC warnings about the
synthetic-audio output that a folder run leaves unused."""

import numpy as np

from tests.conftest import tone, write_audio


def test_folder_run_gives_no_empty_output_warning(repo, tmp_path):
    music = tmp_path / "music"
    for i, sub in enumerate(("a", "b", "a", "b")):
        write_audio(music / sub / f"track{i // 2}.wav", tone(3.0, 8000, 110.0 * (i + 1)) *
                    np.linspace(0.2, 1.0, 3 * 8000)[:, None].astype(np.float32), 8000)
    repo.params(data={"source": "folder", "folder": str(music), "min_seconds": 1.0})
    p = repo.dvc("repro", "prepare")
    assert "is empty" not in p.stdout + p.stderr, p.stdout + p.stderr
    note = (repo.path / "data/audio/README.txt").read_text()
    assert str(music) in note and "ingest: 4 songs" in p.stdout
