"""Typed, validated parameters: one dataclass per section of params.yaml.

Every stage loads its section through `load_section`. An unknown key, a wrong type or an
out-of-range value raises `ConfigError` naming the key and what was expected, before any
work starts. Ranges live next to the field (`_f(default, lo=..., hi=...)`) so the rule and
the default are read together.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from songcoder.errors import UserError


class ConfigError(UserError, ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


def _f(default: Any, *, lo: float | None = None, hi: float | None = None,
       lo_open: bool = False, hi_open: bool = False, doc: str = "") -> Any:
    """A field with an optional numeric range (closed unless *_open)."""
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "doc": doc}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


# ----------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class DataConfig:
    """`ingest`: where songs come from and how they are split."""

    source: Literal["synth", "folder"] = "synth"
    folder: str = "music"                 # music folder when source == "folder"
    songs: int = _f(1200, lo=3)            # synth corpus size
    seconds: float = _f(24.0, lo=2.0, hi=3600.0)   # synth song length
    sample_rate: int = _f(22050, lo=8000, hi=192000)  # synth render rate
    min_seconds: float = _f(4.0, lo=0.0)  # shorter files are skipped
    max_seconds: float = _f(3600.0, lo=1.0)  # longer files are skipped (prepare holds a song in memory)
    split: list[float] = _f([0.7, 0.15, 0.15])  # train, val, test fractions
    seed: int = _f(0, lo=0)
    workers: int = _f(2, lo=1, hi=256)    # processes rendering / validating songs

    def check(self) -> None:
        if self.source == "folder" and not self.folder:
            raise ConfigError("data.folder: required when data.source is 'folder'")
        if len(self.split) != 3 or any(not 0 <= x <= 1 for x in self.split) \
                or abs(sum(self.split) - 1) > 1e-6 or self.split[0] <= 0:
            raise ConfigError(f"data.split: expected three fractions [train, val, test] in [0, 1] "
                              f"summing to 1 with train > 0, got {self.split}")


@dataclass(frozen=True)
class PrepareConfig:
    """`prepare`: the 1482-d song vector."""

    workers: int = _f(2, lo=1, hi=256)
    min_bpm: float = _f(60.0, lo=20.0, hi=400.0)
    max_bpm: float = _f(200.0, lo=20.0, hi=400.0)
    analysis_rate: int = _f(11025, lo=4000, hi=48000)  # audio is decimated to about this rate
    features: Literal["seed", "extended"] = "seed"    # extended: + timbre, contrast, chroma, tempogram
    excerpt_seconds: float = _f(30.0, lo=2.0)     # train/val songs also give excerpts this long
    excerpts: int = _f(8, lo=1)                   # at most this many excerpt rows per song
    # a song with excerpts also gives its whole-song row among them: the length that evaluate's
    # reconstruction scores (make-real val, plain fine-tuning: rel_error 0.152 -> 0.142)
    whole_row: bool = True
    tempo_check_seconds: float = _f(30.0, lo=0.0)  # test songs: tempo under speed changes of this much audio; 0 = off
    normalise: bool = True                        # z-score with train statistics; false: raw scales (seed 000's regime)

    def check(self) -> None:
        if self.min_bpm * 2 > self.max_bpm:
            raise ConfigError(f"prepare.max_bpm: must be at least twice prepare.min_bpm "
                              f"({self.min_bpm}) so every tempo has an octave to choose from, "
                              f"got {self.max_bpm}")


@dataclass(frozen=True)
class TrainerConfig:
    """Lightning Trainer settings shared by every training stage (scale-out lives here)."""

    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    devices: str = "auto"                 # "auto", a count ("2") or a list ("0,1")
    num_nodes: int = _f(1, lo=1)
    strategy: str = "auto"                # "auto", "ddp", "ddp_spawn", ...
    precision: Literal["32-true", "16-mixed", "bf16-mixed", "64-true"] = "32-true"
    deterministic: bool = True


@dataclass(frozen=True)
class SdaeConfig:
    """`pretrain@K` (one per entry of `layers`), `finetune`: the stacked denoising autoencoder."""

    layers: list[int] = _f([352, 84, 21], lo=1)
    noise: float = _f(0.20, lo=0.0, hi=1.0, hi_open=True)   # masking fraction per input
    activation: Literal["sigmoid", "tanh", "relu", "trelu"] = "tanh"
    tied: bool = False                            # pretraining: decoder = encoder transpose
    regularizer: Literal["none", "sparse", "rank_ordered"] = "none"
    sparsity_target: float = _f(0.05, lo=0.0, hi=1.0, lo_open=True, hi_open=True)  # rho
    sparsity_weight: float = _f(3.0, lo=0.0)      # beta
    weight_decay: float = _f(1e-4, lo=0.0)        # lambda (sparse cost only)
    optimizer: Literal["sgd", "momentum", "rmsprop", "adam", "adam_centered", "lbfgs"] = "adam"
    lr: float = _f(3e-3, lo=0.0, lo_open=True)    # lbfgs: first step length, 1.0 usual
    momentum: float = _f(0.9, lo=0.0, hi=1.0, hi_open=True)
    batch_size: int = _f(32, lo=1)
    pretrain_epochs: int = _f(60, lo=1)
    finetune_epochs: int = _f(100, lo=1)
    finetune_lr: float = _f(3e-4, lo=0.0, lo_open=True)
    finetune_noise: float = _f(0.30, lo=0.0, hi=1.0, hi_open=True)  # masking while fine-tuning
    finetune_untie: bool = True                   # decoders get their own weights to fine-tune
    finetune_rank_ordered: bool = False           # keep seed 003's rank order through fine-tuning
    decay: float = _f(0.01, lo=0.0)               # decoupled (AdamW-style) decay of all weight matrices
    schedule: Literal["constant", "cosine"] = "constant"   # lr over each run's epochs
    keep_best: bool = True                        # return the lowest-val/rel_error epoch's weights
    # fine-tuning / layer-1 pretraining: squared error of the 330 loudness dims weighted this
    # many times the rhythm dims (weights rescaled to mean 1); 1 = plain MSE
    loudness_weight: float = _f(8.0, lo=0.0, lo_open=True)
    pretrain_loudness_weight: float = _f(8.0, lo=0.0, lo_open=True)
    # the same for the extended layout's timbre, contrast, chroma and tempogram dims (both
    # stages; no effect on the seed layout): where same-song retrieval lives, at a cost in
    # reconstruction (README, "Real music": the cross-validated trade)
    extended_weight: float = _f(100.0, lo=0.0, lo_open=True)
    # probability that a training row's input is another excerpt of the same song (the target
    # stays the row itself): the code keeps what is stable in a song; 0 = plain masked self
    excerpt_swap: float = _f(0.0, lo=0.0, hi=1.0)
    # fine-tuning adds this x supervised InfoNCE of the codes of one batch's excerpt rows (rows of
    # one song are positives; sdae/same_song.py); 0 = the plain masked-self target
    same_song_weight: float = _f(30.0, lo=0.0)
    same_song_temperature: float = _f(0.2, lo=0.0, lo_open=True)   # of the cosine similarities
    same_song_rows: int = _f(2, lo=2)             # a song's rows come into a batch this many at a time
    # every layer gets a PCA-initialised linear encoder/decoder beside its non-linear units,
    # which join through gates that start at 0 (sdae/README.md: the linear path)
    linear_path: bool = True
    # masked rows keep their expected value: kept entries / (1 - noise), as inverted dropout
    noise_rescale: bool = True
    seed: int = _f(0, lo=0)

    def check(self) -> None:
        if not self.layers:
            raise ConfigError("sdae.layers: expected at least one layer size, got []")
        if self.regularizer == "sparse" and self.activation not in ("sigmoid", "trelu"):
            raise ConfigError(f"sdae.activation: the sparse regularizer needs activations in "
                              f"(0, 1) (sigmoid or trelu), got {self.activation!r}")
        if self.finetune_rank_ordered and self.regularizer != "rank_ordered":
            raise ConfigError("sdae.finetune_rank_ordered: keeps the rank order of a code "
                              f"pretrained with regularizer rank_ordered, got {self.regularizer!r}")
        if self.same_song_weight > 0 and self.same_song_rows > self.batch_size:
            raise ConfigError(f"sdae.same_song_rows: {self.same_song_rows} rows of a song must "
                              f"fit in a batch (sdae.batch_size {self.batch_size})")
        if self.optimizer == "lbfgs" and self.decay > 0:
            raise ConfigError("sdae.decay: decoupled weight decay needs a first-order optimizer; "
                              "set decay: 0 with lbfgs")
        if self.linear_path and (self.tied or self.regularizer != "none"):
            raise ConfigError("sdae.linear_path: needs sdae.tied false and sdae.regularizer none "
                              f"(got tied {self.tied}, regularizer {self.regularizer!r}); set "
                              "sdae.linear_path: false to use them")

    def plain_stack(self) -> "SdaeConfig":
        """This config without the linear path and the noise rescale: the stack as the seeds
        built it, which their benchmarks (optimizers, regularizers) make claims about."""
        return dataclasses.replace(self, linear_path=False, noise_rescale=False)


@dataclass(frozen=True)
class EvaluateConfig:
    """`evaluate`: baselines, masked recovery, retrieval, collapse flags."""

    mask_fraction: float = _f(0.30, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    k: int = _f(10, lo=1)                          # precision@k for retrieval
    collapse_rel_error: float = _f(0.98, lo=0.0)   # at or above: decodes to the mean
    collapse_code_std: float = _f(1e-3, lo=0.0)    # below (mean per-unit std of codes): constant codes
    baseline: Literal["librosa", "none"] = "librosa"  # peer for same-song halves retrieval
    baseline_train_songs: int = _f(100, lo=0)      # train songs whose halves z-score the peer; 0 = the test halves
    workers: int = _f(2, lo=1, hi=256)             # processes decoding songs for the peer
    bootstrap: int = _f(2000, lo=0)                # song resamples for the top-1 intervals; 0 = none
    seed: int = _f(0, lo=0)


@dataclass(frozen=True)
class RnnConfig:
    """`train_rnn`: next-chunk audio model."""

    sample_rate: int = _f(16000, lo=1000, hi=96000)
    frame: int = _f(256, lo=8)                     # samples per step
    cell: Literal["lstm", "gru"] = "lstm"
    layers: int = _f(2, lo=1, hi=8)
    hidden: int = _f(256, lo=4)
    mlp_in: int = _f(0, lo=0)                      # hidden size of the input MLP; 0 = none
    mlp_out: int = _f(0, lo=0)                     # hidden size of the output MLP; 0 = none
    input_noise: float = _f(0.02, lo=0.0)          # std of input noise in training (companded samples or standardised spectra)
    batching: Literal["shifted", "random"] = "shifted"
    tbptt_seconds: float = _f(2.0, lo=0.0, lo_open=True)
    tbptt_chunks: int = _f(4, lo=1)                # TBPTT windows per stream (state carried)
    representation: Literal["time_mse", "spectral", "mulaw", "logmag", "pointer"] = "pointer"   # keeps beat and notes (README)
    phase_weight: float = _f(1.0, lo=0.0)          # spectral: weight of the `phase` term
    embed: int = _f(16, lo=1)                      # mulaw: per-sample features before the levels
    mixtures: int = _f(8, lo=1)                    # logmag: Gaussian components per next-grain spectrum
    max_run_seconds: float = _f(0.5, lo=0.0, lo_open=True)  # pointer: longest stretch played in the seed's order
    head_fraction: float = _f(1.0, lo=0.0, hi=1.0, lo_open=True)  # share of steps scored in training
    batch_size: int = _f(8, lo=1)
    epochs: int = _f(20, lo=1)
    steps_per_epoch: int = _f(24, lo=1)
    val_steps: int = _f(4, lo=1)                   # validation batches per epoch (fixed set)
    lr: float = _f(2e-3, lo=0.0, lo_open=True)
    optimizer: Literal["adam", "rmsprop"] = "adam"   # rmsprop: seed 002's own
    grad_clip: float = _f(1.0, lo=0.0)             # gradient norm clip; 0 = none
    seed: int = _f(0, lo=0)

    def check(self) -> None:
        if self.representation == "pointer" and self.head_fraction != 1.0:
            raise ConfigError("rnn.head_fraction: the pointer scores every step against its "
                              f"window's grains; set it to 1 (got {self.head_fraction})")


@dataclass(frozen=True)
class GenerateConfig:
    """`generate`: continue held-out songs from a seed."""

    count: int = _f(20, lo=1)
    seed_seconds: float = _f(8.0, lo=0.0, lo_open=True)   # two bars at 60 BPM
    seconds: float = _f(10.0, lo=0.0, lo_open=True)
    temperature: float = _f(0.6, lo=0.0)          # sampling temperature; 0 = most likely (argmax)
    phase_jitter: float = _f(0.6, lo=0.0, hi=1.0)  # logmag: 0 = phase vocoder, 1 = random phase
    seed: int = _f(0, lo=0)


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "prepare": PrepareConfig,
    "trainer": TrainerConfig,
    "sdae": SdaeConfig,
    "evaluate": EvaluateConfig,
    "rnn": RnnConfig,
    "generate": GenerateConfig,
}


# ----------------------------------------------------------------------------- loading


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false",
            type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check `value` against annotation `tp`; returns the value (ints widened to floats)."""
    origin = typing.get_origin(tp)
    bad = ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r} "
                      f"({type(value).__name__})")
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise bad
        return value
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(tp):
            try:
                return _coerce(key, value, arm)
            except ConfigError:
                continue
        raise bad
    if origin is list:
        if not isinstance(value, list):
            raise bad
        (item,) = typing.get_args(tp)
        return [_coerce(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
    if tp is type(None):
        if value is not None:
            raise bad
        return None
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{key}: expected a finite number, got {value}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    raise TypeError(f"unsupported annotation {tp!r} for {key}")


def _check_range(key: str, value: Any, meta: typing.Mapping[str, Any]) -> None:
    lo, hi = meta.get("lo"), meta.get("hi")
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        too_low = lo is not None and (v <= lo if meta["lo_open"] else v < lo)
        too_high = hi is not None and (v >= hi if meta["hi_open"] else v > hi)
        if too_low or too_high:
            lo_s = "" if lo is None else f"{'>' if meta['lo_open'] else '>='} {lo}"
            hi_s = "" if hi is None else f"{'<' if meta['hi_open'] else '<='} {hi}"
            rule = " and ".join(s for s in (lo_s, hi_s) if s)
            raise ConfigError(f"{key}: expected a value {rule}, got {v}")


def build(cls: type, section: str, raw: Any) -> Any:
    """Validate the mapping `raw` for `section` and build `cls` from it."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{section}: expected a mapping of keys, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"{section}.{unknown[0]}: unknown key (known keys: "
                          f"{', '.join(sorted(fields))})")
    values = {}
    for name, f in fields.items():
        if name not in raw:
            continue
        key = f"{section}.{name}"
        value = _coerce(key, raw[name], hints[name])
        _check_range(key, value, f.metadata)
        values[name] = value
    obj = cls(**values)
    if hasattr(obj, "check"):
        obj.check()
    return obj


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read parameters ({e.strerror})") from e
    try:
        params = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from e
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return params


def load_section(section: str, path: str | Path = "params.yaml") -> Any:
    """Load and validate one section of params.yaml."""
    if section not in SECTIONS:
        raise ConfigError(f"{section}: unknown section (known: {', '.join(SECTIONS)})")
    return build(SECTIONS[section], section, read_params(path).get(section))


def validate_all(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Load every section; unknown top-level sections are errors too."""
    params = read_params(path)
    unknown = sorted(set(params) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section (known: {', '.join(SECTIONS)})")
    return {name: build(cls, name, params.get(name)) for name, cls in SECTIONS.items()}


def as_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def params_hash(*cfgs: Any) -> str:
    """Short, stable hash of resolved parameters (for tags and checkpoint names)."""
    blob = json.dumps([as_dict(c) if dataclasses.is_dataclass(c) else c for c in cfgs],
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]
