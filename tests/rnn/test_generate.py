import json

import numpy as np
import soundfile as sf

from songcoder.config import GenerateConfig
from songcoder.rnn.generate import generate_all
from songcoder.rnn.model import AudioRNN
from songcoder.audio.synth import render_song

SR = 8000


def _music(seconds, seed=0):
    return render_song(seed, 0, seconds, SR)[0].mean(axis=1)


def test_generate_all_writes_audio_pictures_and_metrics(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"held{i}.wav"
        sf.write(p, _music(3.0 if i else 0.5, seed=i), SR)   # the first is too short
        paths.append(str(p))
    model = AudioRNN(frame=64, hidden=16, layers=1, representation="mulaw", embed=4, sample_rate=SR)
    cfg = GenerateConfig(count=2, seed_seconds=1.0, seconds=1.5, temperature=1.0)
    metrics, files = generate_all(model.eval(), cfg, paths, tmp_path / "generated")
    assert len(files) == 4 and all(f.endswith((".wav", ".png")) for f in files)
    assert "held0" in metrics["skipped"] and metrics["songs"] == 2
    audio, sr = sf.read(files[0])
    assert sr == SR and len(audio) == round(2.5 * SR)
    for key in ("time_to_collapse_s", "lsd_db", "realtime_factor", "nll_bits_per_sample"):
        assert np.isfinite(metrics[key])
    assert set(metrics["baselines"]) >= {"silence", "repeat_last_frame", "loop_seed"}
    assert metrics["baselines"]["silence"]["time_to_collapse_s"] == 0.0
    # structure figures for the model, the real continuation and the baselines alike
    for fig in (metrics, metrics["baselines"]["real_continuation"],
                metrics["baselines"]["loop_seed"]):
        assert 0 < fig["spectral_flatness"] < 1 and fig["energy_modulation_db"] >= 0
        assert 0 <= fig["onset_periodicity"] <= 1
        assert fig["tonality"] >= 0 and 0 <= fig["copy_score"] <= 1 + 1e-9
        assert 0 <= fig["tempo_match"] <= 1
    assert metrics["baselines"]["silence"]["spectral_flatness"] is None     # undefined, not NaN
    assert metrics["baselines"]["loop_seed"]["copy_score"] > 0.99
    assert metrics["encoder_top1"] is None                   # no encoder given
    json.dumps(metrics, allow_nan=False)                     # the stage writes it as JSON                                      # the stage writes it as JSON


