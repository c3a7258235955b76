"""Stage `generate`: continue held-out (test) songs from a 1 s seed with the trained RNN.

Writes generated/<song>.{wav,png} (seed + continuation; spectrogram with the seed boundary)
and metrics/generate.json (the judge of `songcoder.evaluate.generation` for the model, the
real continuation and the baselines; speed; NLL). `encoder_top1` uses the song encoder
(models/sdae.pt, data/features/norm.npz and the test songs' features).
"""

import shutil
from pathlib import Path

from common import sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.audio.collection import read_manifest
from songcoder.evaluate.generation import SongEncoder
from songcoder.rnn import train as rnn
from songcoder.rnn.generate import generate_all


@stage_main("generate")
def main() -> None:
    cfg = sections("generate", "prepare")
    manifest = read_manifest("data/manifest.csv")
    test = [r["path"] for r in manifest if r["split"] == "test"]
    encoder = SongEncoder.from_files("models/sdae.pt", "data/features", manifest, cfg["prepare"])
    model = rnn.load("models/rnn.pt")
    shutil.rmtree("generated", ignore_errors=True)   # only this run's files
    Path("plots/generate").mkdir(parents=True, exist_ok=True)
    with tracking.stage_run("generate", cfg) as run:
        metrics, files = generate_all(model, cfg["generate"], test, "generated", encoder=encoder,
                                      feature_kw=encoder.feature_kw)
        save_json("metrics/generate.json", metrics)
        run.log_metrics({k: v for k, v in metrics.items() if k != "per_song"})
        run.log_artifact("metrics/generate.json")
        for f in files:
            run.log_artifact(f, "generated")
        shutil.copyfile(files[1], "plots/generate/example.png")   # the README's picture
        run.log_artifact("plots/generate/example.png")
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
