"""Stage `finetune`: stack the three pretrained layers into 1482->21->1482 and train end to end.

Writes models/sdae.pt (self-describing), metrics/finetune.json, plots/finetune.csv.
"""

from common import load_rows, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.figures import results
from songcoder.sdae import train as sdae
from songcoder.training import checkpoint_dir, data_fingerprint, drop_checkpoints


@stage_main("finetune")
def main() -> None:
    cfg = sections("sdae", "trainer")
    x, songs = load_rows("data/features")
    layers = [sdae.load(f"models/layer_{k}.pt") for k in (1, 2, 3)]
    ckpt = checkpoint_dir("finetune", *cfg.values(), data_fingerprint(x["train"]))
    with tracking.stage_run("finetune", cfg) as run:
        metrics, model = sdae.finetune(cfg["sdae"], cfg["trainer"], layers, x["train"], x["val"],
                                       ckpt_dir=ckpt, songs=songs, logger=run.lightning_logger())
        if tracking.is_rank_zero():
            history = metrics.pop("history")
            sdae.save("models/sdae.pt", model, cfg["sdae"])
            sdae.write_history_csv("plots/finetune.csv", history)
            save_json("metrics/finetune.json", results(metrics))
            run.log_best(metrics, headline=("val/rel_error", "best_epoch"))
            run.log_artifact("metrics/finetune.json")
            run.log_artifact("plots/finetune.csv")
            print(f"finetune: val rel_error {metrics['val/rel_error']:.4f} "
                  f"after {metrics['epochs']} epochs")
    drop_checkpoints(ckpt)


if __name__ == "__main__":
    main()
