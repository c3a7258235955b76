"""Stage `finetune`: stack the pretrained layers into one 1482 -> code -> 1482 network and train
it end to end.

Writes the model (self-describing), metrics and per-epoch curves at the paths given on the
command line (dvc.yaml).
"""

import functools

from common import check_layer_count, load_rows, paths, sections, stage_main
from training_stage import train_stage

from songcoder.sdae import train as sdae
from songcoder.sdae.serving import load
from songcoder.training import data_fingerprint


def summary(m: dict) -> str:
    return f"val rel_error {m['val/rel_error']:.4f} after {m['epochs']} epochs"


@stage_main("finetune")
def main() -> None:
    io = paths("features", "model", "metrics", "plot", many=("layers",))
    cfg = sections("sdae", "trainer")
    check_layer_count(cfg["sdae"], len(io.layers))
    x, songs = load_rows(io.features, io.features)
    layers = [load(path) for path in io.layers]
    fit = functools.partial(sdae.finetune, cfg["sdae"], cfg["trainer"], layers, x["train"],
                            x["val"], songs=songs)
    train_stage("finetune", cfg, data_fingerprint(x["train"]), fit,
                lambda model: sdae.save(io.model, model, cfg["sdae"]),
                metrics_path=io.metrics, plot_path=io.plot,
                headline=("val/rel_error", "best_epoch"), summary=summary)


if __name__ == "__main__":
    main()
