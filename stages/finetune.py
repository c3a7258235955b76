"""Stage `finetune`: stack the pretrained layers into one 1482 -> code -> 1482 network and train
it end to end.

Writes the model (self-describing), metrics and per-epoch curves at the paths given on the
command line (dvc.yaml).
"""

from common import check_layer_count, load_rows, paths, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.figures import results
from songcoder.sdae import train as sdae
from songcoder.training import checkpoint_dir, data_fingerprint, drop_checkpoints


@stage_main("finetune")
def main() -> None:
    io = paths("features", "model", "metrics", "plot", many=("layers",))
    cfg = sections("sdae", "trainer")
    check_layer_count(cfg["sdae"], len(io.layers))
    x, songs = load_rows(io.features, io.features)
    layers = [sdae.load(path) for path in io.layers]
    ckpt = checkpoint_dir("finetune", *cfg.values(), data_fingerprint(x["train"]))
    with tracking.stage_run("finetune", cfg) as run:
        metrics, model = sdae.finetune(cfg["sdae"], cfg["trainer"], layers, x["train"], x["val"],
                                       ckpt_dir=ckpt, songs=songs, logger=run.lightning_logger())
        if tracking.is_rank_zero():
            history = metrics.pop("history")
            sdae.save(io.model, model, cfg["sdae"])
            sdae.write_history_csv(io.plot, history)
            save_json(io.metrics, results(metrics))
            run.log_best(metrics, headline=("val/rel_error", "best_epoch"))
            run.log_artifact(io.metrics)
            run.log_artifact(io.plot)
            print(f"finetune: val rel_error {metrics['val/rel_error']:.4f} "
                  f"after {metrics['epochs']} epochs")
    drop_checkpoints(ckpt)


if __name__ == "__main__":
    main()
