"""Stage `prepare`: manifest -> features/{train,val,test}.npy (N x 1482) + index + stats."""

from pathlib import Path

from common import paths, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json, save_text
from songcoder.audio.collection import read_manifest, to_csv
from songcoder.figures import results
from songcoder.prepare import prepare


@stage_main("prepare")
def main() -> None:
    io = paths("manifest", "features", "metrics", "tempo")
    cfg = sections("prepare")
    features = Path(io.features)
    with tracking.stage_run("prepare", cfg) as run:
        result = prepare(cfg["prepare"], read_manifest(io.manifest), features)
        save_json(io.metrics, results(result.metrics))
        save_text(io.tempo, to_csv(result.tempo_rows, ["id", "split", "true_bpm", "est_bpm"]))
        run.log_result(result.metrics, headline=("tempo_acc1", "tempo_acc2"))
        for path in (io.metrics, io.tempo, features / "skipped.csv",
                     features / "test_index.csv"):
            run.log_artifact(path)
    for s in result.skipped:
        print(f"prepare: skipped {s['file']}: {s['reason']}")
    m = result.metrics
    print(f"prepare: {m['songs']} songs at {m['realtime_factor']}x realtime"
          + (f", tempo acc1 {m['tempo_acc1']} acc2 {m['tempo_acc2']}" if "tempo_acc1" in m else ""))


if __name__ == "__main__":
    main()
