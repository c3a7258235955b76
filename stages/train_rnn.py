"""Stage `train_rnn`: the audio RNN on the manifest's train songs (val songs for validation).

Writes models/rnn.pt (self-describing), metrics/train_rnn.json, plots/train_rnn.csv.
"""

from common import sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.audio.collection import read_manifest
from songcoder.figures import results
from songcoder.rnn import train as rnn
from songcoder.training import EpochHistory, checkpoint_dir, drop_checkpoints


@stage_main("train_rnn")
def main() -> None:
    cfg = sections("rnn", "trainer")
    songs = read_manifest("data/manifest.csv")
    paths = {s: [r["path"] for r in songs if r["split"] == s] for s in ("train", "val")}
    ckpt = checkpoint_dir("train_rnn", *cfg.values(), [r["sha1"] for r in songs])
    history = EpochHistory()
    with tracking.stage_run("train_rnn", cfg) as run:
        metrics, model = rnn.train_rnn(cfg["rnn"], cfg["trainer"], paths["train"], paths["val"],
                                       ckpt_dir=ckpt, logger=run.lightning_logger(),
                                       callbacks=[history])
        if tracking.is_rank_zero():
            rnn.save("models/rnn.pt", model, cfg["rnn"])
            history.to_csv("plots/train_rnn.csv")
            save_json("metrics/train_rnn.json", results(metrics))
            run.log_best(metrics, headline=("val/loss", "epochs"))
            run.log_artifact("metrics/train_rnn.json")
            run.log_artifact("plots/train_rnn.csv")
            print(f"train_rnn: val loss {metrics.get('val/loss', float('nan')):.4f} after "
                  f"{metrics['epochs']} epochs, {metrics['train_samples_per_s']:.0f} samples/s")
    drop_checkpoints(ckpt)


if __name__ == "__main__":
    main()
