"""`songcoder`: the trained pipeline for people.

  songcoder embed FILE...             21-number codes, one JSON line per file (or --format csv)
  songcoder similar FILE --k 10       nearest songs of the ingested collection in code space
  songcoder generate --seed FILE ...  continue a song with the trained audio RNN
  songcoder runs                      the last pipeline runs and their key metrics (MLflow)
  songcoder info                      what is trained and where things are

Run it from the project folder (it reads models/, data/ and params.yaml there).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from songcoder.errors import UserError


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def _load_model(path: str, loader, stage: str):
    """A trained model file, or a UserError in one line (missing, unreadable, not a model)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path} not found: run `dvc repro {stage}` first (or pass --model)")
    try:
        return loader(path)
    except Exception as e:  # torch/pickle errors are many and long: the first line says enough
        detail = str(e).strip().splitlines()[0][:160] if str(e).strip() else "truncated?"
        raise UserError(f"{path}: cannot load the model ({type(e).__name__}: {detail})") from e


class Encoder:
    """Audio file -> 21-d code: features, train normalisation, the fine-tuned encoder."""

    def __init__(self, model: str, norm: str, params: str):
        from songcoder.config import load_section
        from songcoder.sdae.train import load

        self.model = _load_model(model, load, "finetune")
        if not Path(norm).exists():
            raise UserError(f"{norm} not found: run `dvc repro prepare` first (or pass --norm)")
        try:
            with np.load(norm) as stats:
                self.mean, self.std = stats["mean"], stats["std"]
        except Exception as e:
            raise UserError(f"{norm}: cannot read the train statistics ({_first_line(e)})") from e
        self.prep = load_section("prepare", params) if Path(params).exists() else None

    def features(self, path: str) -> np.ndarray:
        from songcoder.audio.io import load
        from songcoder.features.extract import song_features

        x, sr = load(path)
        kw = {} if self.prep is None else dict(min_bpm=self.prep.min_bpm,
                                               max_bpm=self.prep.max_bpm,
                                               analysis_rate=self.prep.analysis_rate)
        return song_features(x, sr, **kw).vector

    def codes(self, x: np.ndarray) -> np.ndarray:
        """(N, 1482) raw vectors or already-normalised ones (normalised=True) -> (N, 21)."""
        from songcoder.sdae.train import encode
        return encode(self.model, ((x - self.mean) / self.std).astype(np.float32))

    def embed(self, path: str) -> np.ndarray:
        return self.codes(self.features(path)[None])[0]


def _embed_all(enc: Encoder, files: list[str]) -> Iterator[dict]:
    from songcoder.audio.io import AudioError
    from songcoder.parallel import progress_enabled
    from tqdm import tqdm

    for f in tqdm(files, desc="embed", unit="file", disable=not progress_enabled()
                  or len(files) < 3):
        try:
            yield {"file": f, "code": [round(float(v), 6) for v in enc.embed(f)]}
        except (AudioError, OSError) as e:
            yield {"file": f, "error": str(e)}
        except Exception as e:  # a bad file must not stop the others
            yield {"file": f, "error": f"{type(e).__name__}: {_first_line(e)}"}


def cmd_embed(args) -> int:
    enc = Encoder(args.model, args.norm, args.params)
    ok = 0
    writer = csv.writer(sys.stdout) if args.format == "csv" else None
    if writer:
        writer.writerow(["file", "error"] + [f"c{i}" for i in range(enc.model.sizes[-1])])
    for row in _embed_all(enc, args.files):
        ok += "code" in row
        if "error" in row:
            print(f"songcoder embed: {row['file']}: {row['error']}", file=sys.stderr)
        if writer:
            writer.writerow([row["file"], row.get("error", "")] + row.get("code", []))
        else:
            print(json.dumps(row), flush=True)
    return 0 if ok else 1


def _collection(enc: Encoder, features: Path, manifest: Path) -> tuple[list[dict], np.ndarray]:
    """Every featurised song of the ingested collection with its code."""
    from songcoder.audio.collection import read_manifest
    from songcoder.sdae.train import encode

    for path in (manifest, *(features / f"{s}{ext}" for s in ("train", "val", "test")
                             for ext in ("_index.csv", ".npy"))):
        if not path.exists():
            raise UserError(f"{path} not found: run `dvc repro prepare` first")
    by_id = {r["id"]: r for r in read_manifest(manifest)}
    songs, codes = [], []
    for split in ("train", "val", "test"):
        with open(features / f"{split}_index.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        if rows:
            codes.append(encode(enc.model, np.load(features / f"{split}.npy")))
            songs += [{**by_id.get(r["id"], {"path": r["id"]}), "split": split} for r in rows]
    if not songs:
        raise UserError(f"{features} holds no songs: run `dvc repro prepare` first")
    return songs, np.concatenate(codes)


def cmd_similar(args) -> int:
    enc = Encoder(args.model, args.norm, args.params)
    songs, codes = _collection(enc, Path(args.features), Path(args.manifest))
    try:
        q = enc.embed(args.file)
    except Exception as e:
        print(f"songcoder similar: {args.file}: {_first_line(e)}", file=sys.stderr)
        return 1
    d = np.sqrt(((codes - q) ** 2).sum(axis=1))
    order = np.argsort(d, kind="stable")[: args.k]
    extra = [c for c in ("style", "pattern", "tempo") if c in songs[0]]
    if args.json:
        for i in order:
            print(json.dumps({"path": songs[i]["path"], "distance": round(float(d[i]), 4),
                              **{c: songs[i][c] for c in extra}}))
    else:
        names = [Path(songs[i]["path"]).name for i in order]
        w = {c: max(len(c), *(len(str(songs[i][c])) for i in order)) + 2 for c in extra}
        wn = max(6, *map(len, names)) + 2
        print(f"{'distance':>9}  {'song':<{wn}}" + "".join(f"{c:>{w[c]}}" for c in extra))
        for i, name in zip(order, names):
            print(f"{d[i]:9.3f}  {name:<{wn}}" + "".join(f"{songs[i][c]:>{w[c]}}" for c in extra))
    return 0


def cmd_generate(args) -> int:
    from songcoder.audio.io import AudioError, load_mono, write
    from songcoder.rnn.generate import continue_audio
    from songcoder.rnn.train import load

    model = _load_model(args.model, load, "train_rnn")
    try:
        seed = load_mono(args.seed, model.sample_rate, start=args.start,
                         seconds=args.seed_seconds)
    except (AudioError, OSError) as e:
        print(f"songcoder generate: {args.seed}: {e}", file=sys.stderr)
        return 1
    out_path = Path(args.out)
    if out_path.is_dir():
        raise UserError(f"--out {args.out} is a folder: give a file name such as song.wav")
    if out_path.suffix.lstrip(".").upper() not in ("WAV", "FLAC", "OGG"):
        raise UserError(f"--out {args.out}: use a .wav, .flac or .ogg name")
    if len(seed) < model.min_seed_samples():
        print(f"songcoder generate: {args.seed}: seed shorter than {model.min_seed_samples()} "
              f"samples at {model.sample_rate} Hz", file=sys.stderr)
        return 1
    out = continue_audio(model, seed, args.seconds, args.temperature,
                         np.random.default_rng(args.rng_seed), args.phase_jitter)
    try:
        write(args.out, np.concatenate([seed, out]), model.sample_rate)
    except (OSError, RuntimeError) as e:  # soundfile's errors are RuntimeErrors
        why = e.strerror if isinstance(e, OSError) and e.strerror else _first_line(e)
        print(f"songcoder generate: {args.out}: cannot write ({why})", file=sys.stderr)
        return 1
    print(f"{args.out}: {len(seed) / model.sample_rate:.2f} s seed + {args.seconds:g} s generated")
    return 0


def cmd_runs(args) -> int:
    from mlflow.tracking import MlflowClient

    from songcoder import tracking
    client = MlflowClient(tracking.tracking_uri())
    exp = client.get_experiment_by_name(tracking.EXPERIMENT)
    if exp is None:
        print("no runs yet: run `dvc repro`")
        return 0
    parents = client.search_runs([exp.experiment_id], "tags.`songcoder.kind` = 'pipeline'",
                                 order_by=["attributes.start_time DESC"], max_results=args.n)
    keys = [("prepare", "tempo_acc1", "tempo"), ("evaluate", "rel_error.finetuned_21", "ae_21"),
            ("evaluate", "rel_error.pca_21", "pca_21"),
            ("generate", "time_to_collapse_s", "collapse_s"), ("generate", "lsd_db", "lsd_db")]
    print(f"{'started':<17}{'pipeline':<28}{'stages':<8}" + "".join(f"{k[2]:>11}" for k in keys))
    for p in parents:
        children = client.search_runs([exp.experiment_id],
                                      f"tags.mlflow.parentRunId = '{p.info.run_id}'")
        by_stage = {c.data.tags.get("stage"): c for c in children}
        vals = []
        for stage, key, _ in keys:
            v = by_stage[stage].data.metrics.get(key) if stage in by_stage else None
            vals.append(f"{v:>11.3f}" if v is not None else f"{'-':>11}")
        import datetime as dt
        when = dt.datetime.fromtimestamp(p.info.start_time / 1000).strftime("%Y-%m-%d %H:%M")
        print(f"{when:<17}{(p.info.run_name or '')[:27]:<28}{len(children):<8}" + "".join(vals))
    return 0


def cmd_info(args) -> int:
    from songcoder import tracking
    items = {"tracking store": tracking.tracking_uri(),
             "manifest": "data/manifest.csv", "features": "data/features/train.npy",
             "encoder": "models/sdae.pt", "audio rnn": "models/rnn.pt"}
    for name, value in items.items():
        state = "" if "://" in value else ("  (present)" if Path(value).exists() else "  (missing)")
        print(f"{name:<15} {value}{state}")
    for metrics in sorted(Path("metrics").glob("*.json")):
        print(f"{metrics}: " + ", ".join(f"{k}={v}" for k, v in list(
            tracking.numeric(json.loads(metrics.read_text())).items())[:6]))
    return 0


def _positive(kind):
    def parse(text: str):
        v = kind(text)
        if not v > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return v
    parse.__name__ = kind.__name__
    return parse


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="songcoder", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    def with_model(p):
        p.add_argument("--model", default="models/sdae.pt", help="fine-tuned autoencoder")
        p.add_argument("--norm", default="data/features/norm.npz", help="train statistics")
        p.add_argument("--params", default="params.yaml", help="for the prepare section")
        return p

    p = with_model(sub.add_parser("embed", help="21-number code of each audio file",
                                  description="Print one JSON line per file: "
                                  '{"file": ..., "code": [21 floats]} or {"file": ..., "error": ...}.'
                                  " Exits non-zero only if no file could be embedded."))
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.set_defaults(fn=cmd_embed)

    p = with_model(sub.add_parser("similar", help="nearest songs of the collection",
                                  description="Embed FILE and list the K nearest songs of the "
                                  "ingested collection by Euclidean distance in code space."))
    p.add_argument("file", metavar="FILE")
    p.add_argument("--k", type=_positive(int), default=10)
    p.add_argument("--features", default="data/features")
    p.add_argument("--manifest", default="data/manifest.csv")
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    p.set_defaults(fn=cmd_similar)

    p = sub.add_parser("generate", help="continue a song with the audio RNN",
                       description="Take --seed-seconds of FILE from --start as the seed and "
                       "write seed + --seconds of generated audio to --out.")
    p.add_argument("--seed", required=True, metavar="FILE")
    p.add_argument("--seconds", type=_positive(float), default=10.0)
    p.add_argument("--out", required=True, metavar="FILE.wav")
    p.add_argument("--start", type=float, default=0.0, help="seed start in the file (s)")
    p.add_argument("--seed-seconds", type=_positive(float), default=1.0)
    p.add_argument("--temperature", type=float, default=0.6,
                   help="sampling temperature (0 = most likely)")
    p.add_argument("--phase-jitter", type=float, default=0.6,
                   help="logmag models: 0 = phase vocoder, 1 = random phase")
    p.add_argument("--rng-seed", type=int, default=0)
    p.add_argument("--model", default="models/rnn.pt")
    p.set_defaults(fn=cmd_generate)

    p = sub.add_parser("runs", help="last pipeline runs with key metrics (MLflow)")
    p.add_argument("-n", type=int, default=10)
    p.set_defaults(fn=cmd_runs)

    p = sub.add_parser("info", help="what is trained and where things are")
    p.set_defaults(fn=cmd_info)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except UserError as e:
        print(f"songcoder {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
