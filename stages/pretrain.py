"""Stages `pretrain_1..3`: train denoising layer k on the codes of layer k-1 (features for k=1).

Usage: python stages/pretrain.py K
Writes models/layer_K.pt, data/codes/layer_K/{train_excerpts,val_excerpts,test}.npy,
metrics/pretrain_K.json,
plots/pretrain_K.csv (per-epoch curves).
"""

import sys

from common import load_rows, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json, save_npy
from songcoder.figures import results
from songcoder.sdae import train as sdae
from songcoder.training import checkpoint_dir, data_fingerprint, drop_checkpoints


def main() -> None:
    k = int(sys.argv[1])
    stage = f"pretrain_{k}"

    @stage_main(stage)
    def run_stage() -> None:
        cfg = sections("sdae", "trainer")
        x, songs = load_rows("data/features" if k == 1 else f"data/codes/layer_{k - 1}")
        ckpt = checkpoint_dir(stage, *cfg.values(), data_fingerprint(x["train"]))
        with tracking.stage_run(stage, cfg) as run:
            metrics, layer = sdae.pretrain_layer(cfg["sdae"], cfg["trainer"], k, x["train"],
                                                 x["val"], ckpt_dir=ckpt, songs=songs,
                                                 logger=run.lightning_logger())
            if tracking.is_rank_zero():
                history = metrics.pop("history")
                sdae.save(f"models/layer_{k}.pt", layer, cfg["sdae"])
                for split, xs in x.items():   # train/val: excerpt rows, as the layer above reads them
                    name = f"{split}_excerpts" if split != "test" else split
                    save_npy(f"data/codes/layer_{k}/{name}.npy", sdae.encode(layer, xs))
                sdae.write_history_csv(f"plots/{stage}.csv", history)
                save_json(f"metrics/{stage}.json", results(metrics))
                run.log_best(metrics, headline=("val/rel_error", "best_epoch"))
                run.log_artifact(f"metrics/{stage}.json")
                run.log_artifact(f"plots/{stage}.csv")
                print(f"{stage}: val rel_error {metrics['val/rel_error']:.4f} "
                      f"after {metrics['epochs']} epochs")
        drop_checkpoints(ckpt)

    run_stage()


if __name__ == "__main__":
    main()
