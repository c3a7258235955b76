"""Stages `pretrain@K`: train denoising layer K on the codes of layer K-1 (the features for K=1).

Writes the layer (self-describing), its codes of the autoencoder's rows ({train,val}_excerpts,
test .npy), metrics and per-epoch curves, at the paths given on the command line (dvc.yaml).
"""

from common import check_layer_count, load_rows, paths, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json, save_npy
from songcoder.figures import results
from songcoder.sdae import train as sdae
from songcoder.training import checkpoint_dir, data_fingerprint, drop_checkpoints


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
        ckpt = checkpoint_dir(stage, *cfg.values(), data_fingerprint(x["train"]))
        with tracking.stage_run(stage, cfg) as run:
            metrics, layer = sdae.pretrain_layer(cfg["sdae"], cfg["trainer"], k, x["train"],
                                                 x["val"], ckpt_dir=ckpt, songs=songs,
                                                 logger=run.lightning_logger())
            if tracking.is_rank_zero():
                history = metrics.pop("history")
                sdae.save(io.model, layer, cfg["sdae"])
                for split, xs in x.items():   # train/val: excerpt rows, as the layer above reads them
                    name = f"{split}_excerpts" if split != "test" else split
                    save_npy(f"{io.codes}/{name}.npy", sdae.encode(layer, xs))
                sdae.write_history_csv(io.plot, history)
                save_json(io.metrics, results(metrics))
                run.log_best(metrics, headline=("val/rel_error", "best_epoch"))
                run.log_artifact(io.metrics)
                run.log_artifact(io.plot)
                print(f"{stage}: val rel_error {metrics['val/rel_error']:.4f} "
                      f"after {metrics['epochs']} epochs")
        drop_checkpoints(ckpt)

    run_stage()


if __name__ == "__main__":
    main()
