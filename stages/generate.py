"""Stage `generate`: continue held-out (test) songs from a 1 s seed with the trained RNN.

Writes generated/<song>.{wav,png} (seed + continuation; spectrogram with the seed boundary)
and metrics/generate.json (collapse time, log-spectral distance, baselines, speed, NLL).
"""

import shutil
from pathlib import Path

from common import sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.audio.collection import read_manifest
from songcoder.figures import results
from songcoder.rnn import train as rnn
from songcoder.rnn.generate import generate_all


@stage_main("generate")
def main() -> None:
    cfg = sections("generate")
    test = [r["path"] for r in read_manifest("data/manifest.csv") if r["split"] == "test"]
    model = rnn.load("models/rnn.pt")
    shutil.rmtree("generated", ignore_errors=True)   # only this run's files
    Path("plots/generate").mkdir(parents=True, exist_ok=True)
    with tracking.stage_run("generate", cfg) as run:
        metrics, files = generate_all(model, cfg["generate"], test, "generated")
        save_json("metrics/generate.json", results(metrics))
        run.log_result({k: v for k, v in metrics.items() if k != "per_song"},
                       headline=("lsd_db", "time_to_collapse_s", "onset_periodicity"))
        run.log_artifact("metrics/generate.json")
        for f in files:
            run.log_artifact(f, "generated")
        shutil.copyfile(files[1], "plots/generate/example.png")   # the README's picture
        run.log_artifact("plots/generate/example.png")
    for name, why in metrics["skipped"].items():
        print(f"generate: skipped {name}: {why}")
    base = metrics["baselines"]["repeat_last_frame"]
    print(f"generate: {metrics['songs']} songs, collapse after {metrics['time_to_collapse_s']:.1f} s,"
          f" LSD {metrics['lsd_db']:.1f} dB (repeat-last-frame {base['lsd_db']:.1f} dB), "
          f"{metrics['realtime_factor']:.1f}x realtime; spectral flatness "
          f"{metrics['spectral_flatness']:.3f} (real {metrics['real']['spectral_flatness']:.3f}, "
          f"white noise 0.56), onset periodicity {metrics['onset_periodicity']:.2f} "
          f"(real {metrics['real']['onset_periodicity']:.2f})")


if __name__ == "__main__":
    main()
