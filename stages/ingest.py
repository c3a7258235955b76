"""Stage `ingest`: songs -> the manifest and the skipped list (+ rendered audio for synth)."""

from pathlib import Path

from common import paths, sections, stage_main

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.figures import results
from songcoder.ingest import ingest


@stage_main("ingest")
def main() -> None:
    io = paths("audio", "manifest", "skipped", "metrics")
    cfg = sections("data")
    with tracking.stage_run("ingest", cfg) as run:
        result = ingest(cfg["data"], audio_dir=Path(io.audio), manifest=Path(io.manifest),
                        skipped=Path(io.skipped))
        save_json(io.metrics, results(result.metrics))
        run.log_result(result.metrics, headline=("songs", "skipped"))
        for path in (io.manifest, io.skipped, io.metrics):
            run.log_artifact(path)
    for s in result.skipped:
        print(f"ingest: skipped {s['file']}: {s['reason']}")
    print(f"ingest: {result.metrics['songs']} songs, {result.metrics['skipped']} skipped")


if __name__ == "__main__":
    main()
