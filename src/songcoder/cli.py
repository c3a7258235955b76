"""`songcoder`: the trained pipeline for people.

  songcoder embed FILE...             21-number codes, one JSON line per file (or --format csv)
  songcoder similar FILE --k 10       nearest songs of the ingested collection, with their BPM
  songcoder playlist [FILE...]        order songs (default: the collection) into a mix, as M3U
  songcoder generate --seed FILE ...  continue a song with the trained audio RNN
  songcoder runs                      the last pipeline runs and their key metrics (MLflow)
  songcoder info                      what is trained and where things are
  songcoder summary                   the headline figures of the last run and where to look

Run it from the project folder (it reads models/, data/ and params.yaml there).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from songcoder.config import GenerateConfig
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


def _section(name: str, params: str):
    """The project's `name` section of params.yaml, validated; its defaults where there is no
    params file (the CLI then computes what a default pipeline would)."""
    from songcoder.config import SECTIONS, load_section

    return load_section(name, params) if Path(params).exists() else SECTIONS[name]()


class Encoder:
    """Audio file -> 21-d code: features as prepare computes them, then the serving encoder
    (`sdae.serving.SongEncoder`: train normalisation + the fine-tuned encoder)."""

    def __init__(self, model: str, norm: str, params: str):
        from songcoder.features.norm import read_norm
        from songcoder.sdae.serving import SongEncoder, load

        net = _load_model(model, load, "finetune")
        if not Path(norm).exists():
            raise UserError(f"{norm} not found: run `dvc repro prepare` first (or pass --norm)")
        try:
            stats = read_norm(norm)
        except Exception as e:
            raise UserError(f"{norm}: cannot read the train statistics ({_first_line(e)})") from e
        self.serving = SongEncoder(net, stats.mean, stats.std)
        self.prep = _section("prepare", params)

    def features(self, path: str):
        """The file's SongFeatures (1482-d vector and tempo)."""
        from songcoder.audio.io import load
        from songcoder.features.extract import song_features, song_vector_kwargs

        x, sr = load(path)
        return song_features(x, sr, **song_vector_kwargs(self.prep))

    def codes(self, x: np.ndarray) -> np.ndarray:
        """(N, 1482) raw vectors -> (N, 21) codes."""
        return self.serving.codes(x)

    def song(self, path: str) -> tuple[np.ndarray, float]:
        """(21-d code, BPM) of an audio file."""
        f = self.features(path)
        return self.codes(f.vector[None])[0], f.tempo_bpm

    def embed(self, path: str) -> np.ndarray:
        return self.song(path)[0]


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
        writer.writerow(["file", "error"] + [f"c{i}" for i in range(enc.serving.model.sizes[-1])])
    for row in _embed_all(enc, args.files):
        ok += "code" in row
        if "error" in row:
            print(f"songcoder embed: {row['file']}: {row['error']}", file=sys.stderr)
        if writer:
            writer.writerow([row["file"], row.get("error", "")] + row.get("code", []))
        else:
            print(json.dumps(row), flush=True)
    return 0 if ok else 1


@dataclass
class Collection:
    """The ingested songs (manifest rows + split), their codes and detected BPM."""
    songs: list[dict]
    codes: np.ndarray
    bpm: np.ndarray

    def names(self) -> list[str]:
        """Paths relative to the collection's folder: a/track6.opus and b/track6.opus."""
        from songcoder.audio.collection import relative_names
        return relative_names([s["path"] for s in self.songs])


def _collection(enc: Encoder, features: Path, manifest: Path) -> Collection:
    """Every featurised song of the ingested collection (one whole-song row each) with its
    code and the BPM prepare detected."""
    from songcoder.audio.collection import read_manifest
    from songcoder.sdae.serving import encode

    for path in (manifest, *(features / f"{s}{ext}" for s in ("train", "val", "test")
                             for ext in ("_index.csv", ".npy"))):
        if not path.exists():
            raise UserError(f"{path} not found: run `dvc repro prepare` first")
    by_id = {r["id"]: r for r in read_manifest(manifest)}
    songs, codes, bpm = [], [], []
    for split in ("train", "val", "test"):
        with open(features / f"{split}_index.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        if rows:
            codes.append(encode(enc.serving.model, np.load(features / f"{split}.npy")))
            songs += [{**by_id.get(r["id"], {"path": r["id"]}), "split": split} for r in rows]
            bpm += [float(r.get("tempo_bpm") or "nan") for r in rows]
    if not songs:
        raise UserError(f"{features} holds no songs: run `dvc repro prepare` first")
    return Collection(songs, np.concatenate(codes), np.array(bpm))


def _tolerance(args) -> float | None:
    return None if args.bpm_tolerance is None else args.bpm_tolerance / 100


def cmd_similar(args) -> int:
    from songcoder.playlist import tempo_fits

    enc = Encoder(args.model, args.norm, args.params)
    col = _collection(enc, Path(args.features), Path(args.manifest))
    try:
        q, q_bpm = enc.song(args.file)
    except Exception as e:
        print(f"songcoder similar: {args.file}: {_first_line(e)}", file=sys.stderr)
        return 1
    d = np.sqrt(((col.codes - q) ** 2).sum(axis=1))
    keep = np.ones(len(d), dtype=bool)
    if args.bpm_tolerance is not None:
        keep = tempo_fits(q_bpm, col.bpm, _tolerance(args))
    order = [i for i in np.argsort(d, kind="stable") if keep[i]][: args.k]
    extra = [c for c in ("style", "pattern") if c in col.songs[0]]
    if args.json:
        for i in order:
            print(json.dumps({"path": col.songs[i]["path"], "distance": round(float(d[i]), 4),
                              "bpm": round(float(col.bpm[i]), 1) if np.isfinite(col.bpm[i])
                              else None,
                              **{c: col.songs[i][c] for c in extra}}))
        return 0
    names = col.names()
    kept = f", {int(keep.sum())} within {args.bpm_tolerance:g} % of its tempo (x2, x1/2 too)" \
        if args.bpm_tolerance is not None else ""
    print(f"{args.file}: {q_bpm:.1f} BPM; nearest of {len(d)} songs{kept}")
    w = {c: max(len(c), *(len(str(col.songs[i][c])) for i in order)) + 2 for c in extra} \
        if order else {}
    print(f"{'distance':>9} {'BPM':>6}  " + "".join(f"{c:<{w[c]}}" for c in extra) + "song")
    for i in order:
        print(f"{d[i]:9.3f} {col.bpm[i]:6.1f}  "
              + "".join(f"{col.songs[i][c]:<{w[c]}}" for c in extra) + names[i])
    return 0


def cmd_playlist(args) -> int:
    from songcoder.playlist import m3u, order_songs

    enc = Encoder(args.model, args.norm, args.params)
    if args.files:
        import soundfile
        songs, codes, bpm = [], [], []
        for f in args.files:
            try:
                code, tempo = enc.song(f)
                seconds = soundfile.info(f).duration
            except Exception as e:      # a bad file must not stop the mix
                print(f"songcoder playlist: {f}: {_first_line(e)}", file=sys.stderr)
                continue
            songs.append({"path": f, "duration": seconds})
            codes.append(code)
            bpm.append(tempo)
        if not songs:
            return 1
        col = Collection(songs, np.stack(codes), np.array(bpm))
    else:
        col = _collection(enc, Path(args.features), Path(args.manifest))
    first = None
    if args.first is not None:
        wanted = os.path.abspath(args.first)
        hits = [i for i, s in enumerate(col.songs) if os.path.abspath(s["path"]) == wanted]
        if not hits:
            raise UserError(f"--first {args.first} is not one of the songs of the mix")
        first = hits[0]
    mix = order_songs(col.codes, col.bpm, tolerance=_tolerance(args), first=first)
    names = col.names()
    text = m3u([(os.path.abspath(col.songs[i]["path"]),
                 float(col.songs[i].get("duration") or "nan"),
                 f"{names[i]} ({col.bpm[i]:.0f} BPM)") for i in mix.order])
    if args.out == "-":
        sys.stdout.write(text)
    else:
        from songcoder.atomic import save_text
        try:
            save_text(args.out, text)
        except OSError as e:
            raise UserError(f"--out {args.out}: cannot write ({e.strerror or e})") from e
    clashes = f", {mix.clashes} tempo clashes" if args.bpm_tolerance is not None else ""
    step = float(mix.steps.mean()) if len(mix.steps) else 0.0
    print(f"songcoder playlist: {len(mix.order)} songs, mean step {step:.3f} in code space"
          f"{clashes}" + ("" if args.out == "-" else f"; wrote {args.out}"), file=sys.stderr)
    return 0


def cmd_generate(args) -> int:
    from songcoder.audio.io import AudioError, load_mono, write
    from songcoder.rnn.generate import continue_audio, save_spectrogram
    from songcoder.rnn.model import load

    from songcoder.features.extract import song_vector_kwargs

    cfg = _section("generate", args.params)
    for key in ("seconds", "seed_seconds", "temperature", "phase_jitter"):
        if getattr(args, key) is None:
            setattr(args, key, getattr(cfg, key))
    feature_kw = song_vector_kwargs(_section("prepare", args.params))
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
                         np.random.default_rng(args.rng_seed), args.phase_jitter, feature_kw)
    full, sr = np.concatenate([seed, out]), model.sample_rate
    png = out_path.with_suffix(".png")
    try:
        write(args.out, full, sr)
        save_spectrogram(png, full, sr, len(seed) / sr,
                         f"{Path(args.seed).name}: {len(seed) / sr:.2f} s seed + "
                         f"{len(out) / sr:.2f} s generated (T={args.temperature:g})")
    except (OSError, RuntimeError) as e:  # soundfile's errors are RuntimeErrors
        why = e.strerror if isinstance(e, OSError) and e.strerror else _first_line(e)
        print(f"songcoder generate: {args.out}: cannot write ({why})", file=sys.stderr)
        return 1
    # the model's rate and mono, whatever the seed was: say so
    print(f"wrote {args.out}: {sr} Hz, mono, {len(full) / sr:.2f} s "
          f"({len(seed) / sr:.2f} s seed + {len(out) / sr:.2f} s generated); "
          f"spectrogram {png}")
    return 0


RUN_COLUMNS = (("prepare", "tempo_acc1", "tempo"), ("evaluate", "rel_error.finetuned_21", "ae_21"),
               ("evaluate", "rel_error.pca_21", "pca_21"),
               ("generate", "time_to_collapse_s", "collapse_s"), ("generate", "lsd_db", "lsd_db"))


def cmd_runs(args) -> int:
    import datetime as dt

    from songcoder import tracking
    runs = tracking.recent_pipelines(args.n)
    if not runs:
        print("no runs yet: run `make run` (or `dvc repro`)")
        return 0
    print(f"{'started':<17}{'pipeline':<24}{'stages':>6}"
          + "".join(f"{c[2]:>11}" for c in RUN_COLUMNS[:3]))
    for r in runs:
        when = dt.datetime.fromtimestamp(r["start_ms"] / 1000).strftime("%Y-%m-%d %H:%M")
        vals = [r["stages"].get(stage, {}).get(key) for stage, key, _ in RUN_COLUMNS]
        cells = [f"{v:>11.3f}" if v is not None else f"{'-':>11}" for v in vals]
        print(f"{when:<17}{r['name'][:23]:<24}{len(r['stages']):>6}" + "".join(cells[:3]))
        print(f"{'':<47}" + "".join(f"{c[2]}={v.strip()} " for c, v in
                                     zip(RUN_COLUMNS[3:], cells[3:])).rstrip())
    return 0


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _wrapped(head: str, items: list[str], width: int = 80) -> list[str]:
    return textwrap.wrap("  ".join(items), width=width, initial_indent=head,
                         subsequent_indent=" " * len(head), break_on_hyphens=False)


def cmd_info(args) -> int:
    """What is where, then each metrics file's figures grouped by their first name part,
    rounded, in 80 columns (per-song tables are left to the files)."""
    from songcoder import tracking
    from songcoder.summary import grouped
    uri = tracking.tracking_uri()
    store = Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None
    items = {"version": _version(),
             "tracking store": (os.path.relpath(store) if store else uri),
             "manifest": "data/manifest.csv", "features": "data/features/train.npy",
             "encoder": "models/sdae.pt", "audio rnn": "models/rnn.pt"}
    for name, value in items.items():
        path = store if name == "tracking store" else Path(value)
        state = "" if name == "version" or path is None else (
            "  (present)" if path.exists() else "  (missing)")
        for line in _wrapped(f"{name:<15} ", [value + state]):
            print(line)
    for metrics in sorted(Path("metrics").glob("*.json")):
        try:
            groups = grouped(json.loads(metrics.read_text()))
        except (OSError, ValueError) as e:
            print(f"{metrics}: cannot read ({_first_line(e)})")
            continue
        print(f"{metrics}")
        for group, values in groups.items():
            for line in _wrapped(f"  {group + ':' if group else '':<14}",
                                 [f"{k}={_short(v)}" for k, v in values.items()]):
                print(line)
    return 0


def cmd_summary(args) -> int:
    from songcoder.summary import summary
    print(summary(Path(args.metrics)))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("songcoder")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _positive(kind):
    def parse(text: str):
        v = kind(text)
        if not v > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return v
    parse.__name__ = kind.__name__
    return parse


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written, and every option's default after its help (none for
    required options and flags)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("%(default)" not in text and action.option_strings and not action.required
                and action.default not in (None, False, argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="songcoder", description=__doc__, formatter_class=_Help)
    ap.add_argument("--version", action="version", version=f"songcoder {_version()}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help, description=None):
        return sub.add_parser(name, help=help, description=description or help,
                              formatter_class=_Help)

    def with_model(p):
        p.add_argument("--model", default="models/sdae.pt", help="fine-tuned autoencoder")
        p.add_argument("--norm", default="data/features/norm.npz",
                       help="train statistics for normalising")
        p.add_argument("--params", default="params.yaml",
                       help="its prepare section sets the tempo range and analysis rate")
        return p

    def with_collection(p):
        p.add_argument("--features", default="data/features",
                       help="the collection's features and *_index.csv (with BPM)")
        p.add_argument("--manifest", default="data/manifest.csv",
                       help="the collection's songs and paths")
        return p

    def with_tolerance(p, what, default):
        p.add_argument("--bpm-tolerance", type=_positive(float), metavar="PERCENT",
                       default=default, help=f"{what}: tempi within PERCENT %% of each other, "
                       "or at double or half time" + ("" if default else
                                                      " (default: tempo not considered)"))

    p = with_model(command("embed", "21-number code of each audio file",
                           "Print one JSON line per file: "
                           '{"file": ..., "code": [21 floats]} or {"file": ..., "error": ...}.'
                           " Exits non-zero only if no file could be embedded."))
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (any format "
                   "soundfile reads: WAV, FLAC, OGG, Opus, MP3)")
    p.add_argument("--format", choices=["json", "csv"], default="json",
                   help="JSON lines, or CSV with a header")
    p.set_defaults(fn=cmd_embed)

    p = with_collection(with_model(command(
        "similar", "nearest songs of the collection, with their BPM",
        "Embed FILE and list the K nearest songs of the ingested collection by Euclidean "
        "distance in code space, with each song's detected tempo. Paths are relative to the "
        "collection's folder.")))
    p.add_argument("file", metavar="FILE", help="the song to match")
    p.add_argument("--k", type=_positive(int), default=10, help="how many songs to list")
    with_tolerance(p, "keep only songs that mix with FILE", None)
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    p.set_defaults(fn=cmd_similar)

    p = with_collection(with_model(command(
        "playlist", "order songs into a DJ mix (M3U)",
        "Order the given FILEs (default: the whole ingested collection) so that each step is "
        "a short hop in code space between tempo-compatible songs (greedy nearest neighbour "
        "+ 2-opt), and write the mix as an extended M3U playlist.")))
    p.add_argument("files", nargs="*", metavar="FILE", help="songs to mix (default: the "
                   "ingested collection)")
    p.add_argument("--out", default="-", metavar="FILE.m3u", help="where to write (- = stdout)")
    p.add_argument("--first", metavar="FILE", help="start the mix with this song (default: "
                   "the song at the edge of the collection)")
    with_tolerance(p, "steps should join songs that mix (100 = any tempo)", 8.0)
    p.set_defaults(fn=cmd_playlist)

    p = command("generate", "continue a song with the audio RNN",
                "Take --seed-seconds of FILE from --start as the seed and write seed + "
                "--seconds of generated audio to --out (mono, at the model's sample rate), "
                "and its spectrogram beside it (.png).")
    p.add_argument("--seed", required=True, metavar="FILE", help="the song to continue")
    # Unset options take the project's params.yaml generate section (as the generate stage
    # would), else the built-in defaults shown here.
    gen = GenerateConfig()
    p.add_argument("--seconds", type=_positive(float),
                   help=f"seconds to generate (default: generate.seconds, else {gen.seconds:g})")
    p.add_argument("--out", required=True, metavar="FILE.wav", help=".wav, .flac or .ogg")
    p.add_argument("--start", type=float, default=0.0, help="seed start in the file (s)")
    p.add_argument("--seed-seconds", type=_positive(float),
                   help="seconds of the song the model hears first (pointer models replay and "
                        "reorder them: a bar or more keeps the beat; default: "
                        f"generate.seed_seconds, else {gen.seed_seconds:g})")
    p.add_argument("--temperature", type=float,
                   help="sampling temperature (0 = most likely; default: generate.temperature, "
                        f"else {gen.temperature:g})")
    p.add_argument("--phase-jitter", type=float,
                   help="logmag models: 0 = phase vocoder, 1 = random phase (default: "
                        f"generate.phase_jitter, else {gen.phase_jitter:g})")
    p.add_argument("--params", default="params.yaml",
                   help="its generate section gives unset options, its prepare section the "
                        "tempo range the pointer finds the seed's beat in")
    p.add_argument("--rng-seed", type=int, default=0, help="seed of the sampler")
    p.add_argument("--model", default="models/rnn.pt", help="trained audio RNN")
    p.set_defaults(fn=cmd_generate)

    p = command("runs", "last pipeline runs with key metrics (MLflow)",
                "The last pipeline runs in the MLflow store of this project (or "
                "MLFLOW_TRACKING_URI) with their headline figures. Never creates a store.")
    p.add_argument("-n", type=_positive(int), default=10, help="how many runs")
    p.set_defaults(fn=cmd_runs)

    p = command("info", "what is trained and where things are")
    p.set_defaults(fn=cmd_info)

    p = command("summary", "headline figures of the last run and where to look",
                "What `make run` prints at the end: the headline figures from the metrics "
                "files and where to look further.")
    p.add_argument("--metrics", default="metrics", help="folder of the metrics files")
    p.set_defaults(fn=cmd_summary)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        rc = args.fn(args)
        sys.stdout.flush()      # a closed pipe shows here, not in the interpreter's exit
        return rc
    except UserError as e:
        print(f"songcoder {args.command}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader left (`songcoder info | head -1`): stop quietly, and point stdout at
        # /dev/null so the interpreter's final flush does not complain either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141      # 128 + SIGPIPE, what a shell reports for a tool stopped this way


if __name__ == "__main__":
    sys.exit(main())
