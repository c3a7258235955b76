"""The frame-level audio RNN: frames of `frame` samples in, the next frame out.

The recurrent stack (optional input MLP, LSTM/GRU layers, optional output MLP) is the same
for every representation; what goes in and comes out - input encoding, output layer, loss,
sampling, shortest seed - is the representation's (`representations.py`, chosen by name).
Generation carries the recurrent state, so each new frame costs one step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from songcoder import checkpoint
from songcoder.features.extract import song_vector_kwargs
from songcoder.rnn.representations import REPRESENTATIONS

# The model file's format (`songcoder.checkpoint`); 2: the head is a representation class.
# Loading lives here, beside the model, so inference (generate, the CLI) never imports the
# training side (Lightning, ~3 s per process).
FORMAT = "songcoder.rnn/3"

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None


class AudioRNN(nn.Module):
    def __init__(self, frame: int = 256, cell: str = "lstm", layers: int = 2, hidden: int = 256,
                 mlp_in: int = 0, mlp_out: int = 0, representation: str = "time_mse",
                 levels: int = 256, embed: int = 16, sample_rate: int = 16000, mixtures: int = 8,
                 phase_weight: float = 1.0, max_run_seconds: float = 0.5):
        super().__init__()
        if cell not in ("lstm", "gru") or representation not in REPRESENTATIONS:
            raise ValueError(f"cell {cell!r} / representation {representation!r} not supported "
                             f"(cells lstm, gru; representations {', '.join(REPRESENTATIONS)})")
        self.kwargs = dict(frame=frame, cell=cell, layers=layers, hidden=hidden, mlp_in=mlp_in,
                           mlp_out=mlp_out, representation=representation, levels=levels,
                           embed=embed, sample_rate=sample_rate, mixtures=mixtures,
                           phase_weight=phase_weight, max_run_seconds=max_run_seconds)
        self.frame, self.sample_rate = frame, sample_rate
        top = mlp_out or hidden
        self.rep = REPRESENTATIONS[representation](frame, top, levels=levels, embed=embed,
                                                   mixtures=mixtures, phase_weight=phase_weight,
                                                   sample_rate=sample_rate,
                                                   max_run_seconds=max_run_seconds)
        n_in = self.rep.n_in
        self.inp = nn.Sequential(nn.Linear(n_in, mlp_in), nn.Tanh()) if mlp_in else nn.Identity()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(mlp_in or n_in, hidden, layers, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(hidden, mlp_out), nn.Tanh()) if mlp_out else nn.Identity()

    def features(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """x: (B, T, n_in) encoded inputs -> (B, T, hidden) top-layer states."""
        return self.rnn(self.inp(x), state)

    def predict(self, h: torch.Tensor) -> torch.Tensor:
        """(..., hidden) -> the representation's output per step."""
        return self.rep(self.mlp(h))

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        h, state = self.features(x, state)                 # (B, T, hidden)
        return self.predict(h), state

    def encode_input(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, frame) audio -> the representation's model inputs."""
        return self.rep.encode(frames)

    def min_seed_samples(self) -> int:
        return self.frame * self.rep.seed_frames

    @torch.inference_mode()
    def generate(self, seed: torch.Tensor, steps: int, temperature: float = 1.0,
                 generator: torch.Generator | None = None,
                 phase_jitter: float = 0.6,
                 feature_kw: dict[str, Any] | None = None) -> torch.Tensor:
        """seed: (B, n, frame) audio frames -> (B, steps, frame) continuation. `feature_kw`:
        prepare's `song_features` arguments (default: prepare's defaults)."""
        if seed.shape[1] < self.rep.seed_frames:
            raise ValueError(f"a {self.rep.name} seed needs {self.rep.seed_frames} frames "
                             f"({self.min_seed_samples()} samples)")
        return self.rep.generate(self, seed, steps, temperature, generator, phase_jitter,
                                 feature_kw or song_vector_kwargs(None))

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def load(path: str | Path) -> AudioRNN:
    """Rebuild the model from the file alone (`rnn.train.save`); its config is on `model.config`."""
    model, model.config = checkpoint.load(path, FORMAT, {"AudioRNN": AudioRNN})
    return model
