"""Stage `train_rnn`: the audio RNN on the manifest's train songs (val songs for validation).

Writes the model (self-describing), metrics and per-epoch curves at the paths given on the
command line (dvc.yaml).
"""

from common import paths, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.audio.collection import read_manifest
from songcoder.figures import results
from songcoder.rnn import train as rnn
from songcoder.training import EpochHistory, checkpoint_dir, drop_checkpoints


@stage_main("train_rnn")
def main() -> None:
    io = paths("manifest", "model", "metrics", "plot")
    cfg = sections("rnn", "trainer")
    songs = read_manifest(io.manifest)
    audio = {s: [r["path"] for r in songs if r["split"] == s] for s in ("train", "val")}
    ckpt = checkpoint_dir("train_rnn", *cfg.values(), [r["sha1"] for r in songs])
    history = EpochHistory()
    with tracking.stage_run("train_rnn", cfg) as run:
        metrics, model = rnn.train_rnn(cfg["rnn"], cfg["trainer"], audio["train"], audio["val"],
                                       ckpt_dir=ckpt, logger=run.lightning_logger(),
                                       callbacks=[history])
        if tracking.is_rank_zero():
            rnn.save(io.model, model, cfg["rnn"])
            history.to_csv(io.plot)
            save_json(io.metrics, results(metrics))
            run.log_best(metrics, headline=("val/loss", "epochs"))
            run.log_artifact(io.metrics)
            run.log_artifact(io.plot)
            print(f"train_rnn: val loss {metrics.get('val/loss', float('nan')):.4f} after "
                  f"{metrics['epochs']} epochs, {metrics['train_samples_per_s']:.0f} samples/s")
    drop_checkpoints(ckpt)


if __name__ == "__main__":
    main()
