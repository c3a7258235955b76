"""Stage `generate`: continue held-out (test) songs from a 1 s seed with the trained RNN.

Writes <out>/<song>.{wav,png} (seed + continuation; spectrogram with the seed boundary), one
example picture and the metrics (collapse time, log-spectral distance, baselines, speed, NLL),
at the paths given on the command line (dvc.yaml).
"""

import shutil
from pathlib import Path

from common import paths, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.audio.collection import read_manifest
from songcoder.rnn import train as rnn
from songcoder.rnn.generate import generate_all


@stage_main("generate")
def main() -> None:
    io = paths("manifest", "model", "out", "example", "metrics")
    cfg = sections("generate")
    test = [r["path"] for r in read_manifest(io.manifest) if r["split"] == "test"]
    model = rnn.load(io.model)
    shutil.rmtree(io.out, ignore_errors=True)   # only this run's files
    Path(io.example).parent.mkdir(parents=True, exist_ok=True)
    with tracking.stage_run("generate", cfg) as run:
        metrics, files = generate_all(model, cfg["generate"], test, io.out)
        save_json(io.metrics, metrics)
        run.log_metrics({k: v for k, v in metrics.items() if k != "per_song"})
        run.log_artifact(io.metrics)
        for f in files:
            run.log_artifact(f, Path(io.out).name)
        shutil.copyfile(files[1], io.example)   # the README's picture
        run.log_artifact(io.example)
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
