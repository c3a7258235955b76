"""train_rnn + generate through the real `dvc repro` of the shared tiny pipeline."""

import csv
import json

import numpy as np
import soundfile as sf
from mlflow.tracking import MlflowClient

from tests.conftest import TINY_PARAMS


def test_rnn_stages_through_dvc(pipeline):
    p = pipeline.path
    assert (p / "models/rnn.pt").exists()
    rows = list(csv.DictReader(open(p / "plots/train_rnn.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"] and all(r["val/loss"] for r in rows)

    m = json.loads((p / "metrics/generate.json").read_text())
    assert m["songs"] == 2
    judged = ("time_to_collapse_s", "lsd_db", "spectral_flatness", "energy_modulation_db",
              "onset_periodicity", "flatness_gap", "tonality", "tempo_match", "encoder_top1",
              "copy_score", "chroma_corr")
    for key in judged:
        assert key in m and (m[key] is None or np.isfinite(m[key])), key
    assert "realtime_factor" not in m                     # speed: in MLflow only
    real = m["baselines"]["real_continuation"]
    assert set(real) == set(judged) and 0 <= real["encoder_top1"] <= 1
    assert real["time_to_collapse_s"] == 2.0              # real music never collapses
    if "nll_bits_per_sample" in m:                       # mulaw models only
        assert np.isfinite(m["nll_bits_per_sample"])
    assert set(m["baselines"]) == {"real_continuation", "silence", "repeat_last_frame",
                                   "loop_seed", "seed_spectrum_noise"}
    wavs = sorted((p / "generated").glob("*.wav"))
    assert len(wavs) == 2 and len(list((p / "generated").glob("*.png"))) == 2
    for wav in wavs:
        x, sr = sf.read(wav)
        seconds = TINY_PARAMS["generate"]["seed_seconds"] + 2.0     # the seed + 2 s generated
        assert sr == 16000 and len(x) == round(seconds * 16000) and np.isfinite(x).all()
        png = wav.with_suffix(".png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"

    (run,) = pipeline.mlflow_runs("train_rnn")
    client = MlflowClient(f"sqlite:///{p / 'mlflow.db'}")
    assert len(client.get_metric_history(run.info.run_id, "rnn/val/loss")) == 2
    (gen,) = pipeline.mlflow_runs("generate")
    assert gen.data.metrics["realtime_factor"] > 0             # speed: in MLflow only
    arts = {a.path for a in client.list_artifacts(gen.info.run_id, "generated")}
    assert {f"generated/{w.name}" for w in wavs} <= arts
