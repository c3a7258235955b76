"""Stage `ingest`: songs -> data/manifest.csv, data/skipped.csv (+ data/audio for synth)."""

from pathlib import Path

from common import sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.figures import results
from songcoder.ingest import ingest


@stage_main("ingest")
def main() -> None:
    cfg = sections("data")
    with tracking.stage_run("ingest", cfg) as run:
        result = ingest(cfg["data"], audio_dir=Path("data/audio"),
                        manifest=Path("data/manifest.csv"), skipped=Path("data/skipped.csv"))
        save_json("metrics/ingest.json", results(result.metrics))
        run.log_result(result.metrics, headline=("songs", "skipped"))
        for path in ("data/manifest.csv", "data/skipped.csv", "metrics/ingest.json"):
            run.log_artifact(path)
    for s in result.skipped:
        print(f"ingest: skipped {s['file']}: {s['reason']}")
    print(f"ingest: {result.metrics['songs']} songs, {result.metrics['skipped']} skipped")


if __name__ == "__main__":
    main()
