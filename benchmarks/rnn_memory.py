"""train_rnn's peak memory at two collection sizes (same run): it must not grow with the songs.

Renders `--large` short synthetic songs (the first `--small` of them are the small
collection), then runs the real `train_rnn` (default architecture, a few steps) on each in its
own process and reads that process's peak RSS (getrusage high-water mark). Also reports the
size of the decoded audio, which the old in-RAM loading held whole. Writes
benchmarks/results/rnn_memory.json and prints it.

    PYTHONPATH=src python benchmarks/rnn_memory.py [--small 200] [--large 2000] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from songcoder.audio.synth import write_songs

RESULTS = Path(__file__).resolve().parent / "results" / "rnn_memory.json"

CHILD = r"""
import json, resource, sys
from songcoder.config import RnnConfig, TrainerConfig
from songcoder.rnn.train import train_rnn
paths = json.loads(sys.argv[1])
cfg = RnnConfig(epochs=1, steps_per_epoch=4, val_steps=1)
metrics, _ = train_rnn(cfg, TrainerConfig(accelerator="cpu", devices="1"), paths[2:], paths[:2])
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "load_seconds": metrics["load_seconds"], "train_songs": metrics["train_songs"]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=200)
    ap.add_argument("--large", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_songs(Path(tmp) / "songs", args.large, args.seconds, sample_rate=16000)
        for n in (args.small, args.large):
            out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(paths[:n])],
                                 capture_output=True, text=True, check=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            row.update(songs=n, decoded_audio_mb=n * args.seconds * 16000 * 4 / 2 ** 20)
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"seconds_per_song": args.seconds, "sizes": rows,
              "peak_rss_ratio_large_to_small": rows[1]["peak_rss_mb"] / rows[0]["peak_rss_mb"],
              "songs_ratio": args.large / args.small}
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
