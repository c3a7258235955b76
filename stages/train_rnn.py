"""Stage `train_rnn`: the audio RNN on the manifest's train songs (val songs for validation).

Writes the model (self-describing), metrics and per-epoch curves at the paths given on the
command line (dvc.yaml).
"""

import functools

from common import paths, sections, stage_main
from training_stage import train_stage

from songcoder.audio.collection import read_manifest
from songcoder.rnn import train as rnn


def summary(m: dict) -> str:
    return (f"val loss {m.get('val/loss', float('nan')):.4f} after {m['epochs']} epochs, "
            f"{m['train_samples_per_s']:.0f} samples/s")


@stage_main("train_rnn")
def main() -> None:
    io = paths("manifest", "model", "metrics", "plot")
    cfg = sections("rnn", "trainer")
    songs = read_manifest(io.manifest)
    audio = {s: [r["path"] for r in songs if r["split"] == s] for s in ("train", "val")}
    fit = functools.partial(rnn.train_rnn, cfg["rnn"], cfg["trainer"], audio["train"],
                            audio["val"])
    train_stage("train_rnn", cfg, [r["sha1"] for r in songs], fit,
                lambda model: rnn.save(io.model, model, cfg["rnn"]),
                metrics_path=io.metrics, plot_path=io.plot,
                headline=("val/loss", "epochs"), summary=summary)


if __name__ == "__main__":
    main()
