"""Stages `pretrain@K`: train denoising layer K on the codes of layer K-1 (the features for K=1).

Writes the layer (self-describing), its codes of the autoencoder's rows ({train,val}_excerpts,
test .npy), metrics and per-epoch curves, at the paths given on the command line (dvc.yaml).
"""

import functools

from common import check_layer_count, load_rows, paths, sections, stage_main
from training_stage import train_stage

from songcoder.atomic import save_npy
from songcoder.sdae import train as sdae
from songcoder.sdae.serving import encode
from songcoder.training import data_fingerprint


def summary(m: dict) -> str:
    return f"val rel_error {m['val/rel_error']:.4f} after {m['epochs']} epochs"


def main() -> None:
    io = paths("input", "features", "model", "codes", "metrics", "plot",
               numbers=("layer", "of"))
    k = io.layer
    stage = f"pretrain_{k}"     # the MLflow run, checkpoint folder and fault-hook name

    @stage_main(stage)
    def run_stage() -> None:
        cfg = sections("sdae", "trainer")
        check_layer_count(cfg["sdae"], io.of)
        x, songs = load_rows(io.input, io.features)

        def save(layer) -> None:
            sdae.save(io.model, layer, cfg["sdae"])
            for split, xs in x.items():   # train/val: excerpt rows, as the layer above reads them
                name = f"{split}_excerpts" if split != "test" else split
                save_npy(f"{io.codes}/{name}.npy", encode(layer, xs))

        fit = functools.partial(sdae.pretrain_layer, cfg["sdae"], cfg["trainer"], k, x["train"],
                                x["val"], songs=songs)
        train_stage(stage, cfg, data_fingerprint(x["train"]), fit, save,
                    metrics_path=io.metrics, plot_path=io.plot,
                    headline=("val/rel_error", "best_epoch"), summary=summary)

    run_stage()


if __name__ == "__main__":
    main()
