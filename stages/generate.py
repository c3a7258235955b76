"""Stage `generate`: continue held-out (test) songs from a seed (`generate.seed_seconds`) with
the trained RNN.

Writes <out>/<song>.{wav,png} (seed + continuation; spectrogram with the seed boundary), one
example picture and the metrics (the judge of `songcoder.evaluate.generation` for the model,
the real continuation and the baselines; speed; NLL), at the paths given on the command line
(dvc.yaml). `encoder_top1` uses the song encoder and the test songs' features.
"""

import shutil
from pathlib import Path

from common import paths, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.audio.collection import read_manifest
from songcoder.evaluate.generation import SongCodeJudge
from songcoder.figures import results
from songcoder.rnn.generate import generate_all
from songcoder.rnn.model import load


@stage_main("generate")
def main() -> None:
    io = paths("manifest", "model", "encoder", "features", "out", "example", "metrics")
    cfg = sections("generate", "prepare")
    manifest = read_manifest(io.manifest)
    test = [r["path"] for r in manifest if r["split"] == "test"]
    encoder = SongCodeJudge.from_files(io.encoder, io.features, manifest, cfg["prepare"])
    model = load(io.model)
    shutil.rmtree(io.out, ignore_errors=True)   # only this run's files
    Path(io.example).parent.mkdir(parents=True, exist_ok=True)
    with tracking.stage_run("generate", cfg) as run:
        metrics, files = generate_all(model, cfg["generate"], test, io.out, encoder=encoder,
                                      feature_kw=encoder.feature_kw)
        save_json(io.metrics, results(metrics))
        run.log_result({k: v for k, v in metrics.items() if k != "per_song"},
                       headline=("lsd_db", "time_to_collapse_s", "onset_periodicity",
                                 "tempo_match", "chroma_corr", "encoder_top1"))
        run.log_artifact(io.metrics)
        for f in files:
            run.log_artifact(f, Path(io.out).name)
        shutil.copyfile(files[1], io.example)   # the README's picture
        run.log_artifact(io.example)
    for name, why in metrics["skipped"].items():
        print(f"generate: skipped {name}: {why}")
    real, noise = (metrics["baselines"][k] for k in ("real_continuation", "seed_spectrum_noise"))
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"   # noqa: E731
    print(f"generate: {metrics['songs']} songs, {metrics['realtime_factor']:.1f}x realtime; "
          f"model / real continuation / seed-spectrum noise: "
          + "; ".join(f"{k} {fmt(metrics[k])} / {fmt(real[k])} / {fmt(noise[k])}"
                      for k in ("time_to_collapse_s", "onset_periodicity", "tempo_match",
                                "chroma_corr", "tonality", "encoder_top1", "copy_score")))

if __name__ == "__main__":
    main()
