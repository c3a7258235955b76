"""The frame-level audio RNN: frames of `frame` samples in, the next frame out.

Input frames are mu-law companded (log-like amplitude, so quiet passages are not lost in
the noise floor of the inputs); the output is either a frame of samples (`wave`, for the
time_mse and spectral losses) or, per sample, logits over 256 mu-law levels (`mulaw`).
Generation carries the recurrent state, so each new frame costs one step.

`logmag` output: per step, the log-magnitude spectrum of the next *grain* - the two frames
after the input, under a sqrt-Hann window (frame + 1 bins). Generation builds each grain from
that magnitude and a phase, then overlap-adds grains at a hop of one frame (sqrt-Hann again:
the two windows multiply to a Hann, whose half-overlapped copies sum to 1). The only randomness
is the phase, a 1-d choice per bin: at temperature 0 each bin's phase advances as a steady
sinusoid at the bin's centre frequency would (a phase vocoder: held notes stay coherent), at 1
it is drawn uniformly (noise with the predicted spectral envelope), in between it is jittered.
Unlike the per-sample `mulaw` head, a frame's samples are not drawn independently, so the
output is not white: its spectrum is the model's.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from songcoder.rnn import mulaw

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None


def grain_window(frame: int) -> torch.Tensor:
    """sqrt of a periodic Hann of 2 * frame: analysis and synthesis window of `logmag` grains."""
    return torch.hann_window(2 * frame, periodic=True).sqrt()


class AudioRNN(nn.Module):
    def __init__(self, frame: int = 256, cell: str = "lstm", layers: int = 2, hidden: int = 256,
                 mlp_in: int = 0, mlp_out: int = 0, output: str = "wave", levels: int = 256,
                 embed: int = 16, sample_rate: int = 16000):
        super().__init__()
        if cell not in ("lstm", "gru") or output not in ("wave", "mulaw", "logmag"):
            raise ValueError(f"cell {cell!r} / output {output!r} not supported")
        self.kwargs = dict(frame=frame, cell=cell, layers=layers, hidden=hidden, mlp_in=mlp_in,
                           mlp_out=mlp_out, output=output, levels=levels, embed=embed,
                           sample_rate=sample_rate)
        self.frame, self.output, self.levels, self.embed = frame, output, levels, embed
        self.sample_rate = sample_rate
        self.inp = nn.Sequential(nn.Linear(frame, mlp_in), nn.Tanh()) if mlp_in else nn.Identity()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(mlp_in or frame, hidden, layers, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(hidden, mlp_out), nn.Tanh()) if mlp_out else nn.Identity()
        top = mlp_out or hidden
        if output == "wave":
            self.head = nn.Linear(top, frame)
        elif output == "logmag":
            self.head = nn.Linear(top, frame + 1)
            self.register_buffer("window", grain_window(frame), persistent=False)
        else:
            # Factorised per-sample head: hidden -> (frame, embed) -> relu -> levels. A full
            # hidden x (frame * 256) layer would be 16 M weights for frame 256.
            self.head = nn.Linear(top, frame * embed)
            self.classes = nn.Linear(embed, levels)

    def init_levels(self, songs) -> None:
        """Start the level logits at the data's marginal log-frequencies.

        From a flat start the output bias needs thousands of small Adam steps to learn how
        peaked the level distribution is; a short CPU run cannot afford them.
        """
        if self.output != "mulaw":
            return
        counts = torch.ones(self.levels)                   # add-one: no level impossible
        for song in songs:
            q = mulaw.quantize(torch.as_tensor(song[::7]), self.levels - 1)   # subsample
            counts += torch.bincount(q, minlength=self.levels)
        logp = torch.log(counts / counts.sum())
        with torch.no_grad():
            self.classes.bias.copy_(logp - logp.mean())

    def features(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """x: (B, T, frame) companded input frames -> (B, T, hidden) top-layer states."""
        return self.rnn(self.inp(x), state)

    def predict(self, h: torch.Tensor) -> torch.Tensor:
        """(..., hidden) -> (..., frame) raw samples or (..., frame, levels) logits."""
        z = self.head(self.mlp(h))
        if self.output in ("wave", "logmag"):
            return z
        z = torch.relu(z.view(*z.shape[:-1], self.frame, self.embed))
        return self.classes(z)

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        h, state = self.features(x, state)                 # (B, T, hidden)
        return self.predict(h), state

    @staticmethod
    def encode_input(frames: torch.Tensor) -> torch.Tensor:
        return mulaw.compress(frames)

    def sample(self, out: torch.Tensor, temperature: float,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """One step's output (B, frame[, levels]) -> audio samples (B, frame)."""
        if self.output == "wave":
            return out.clamp(-1.0, 1.0)
        if temperature <= 0:
            q = out.argmax(-1)
        else:
            # Gumbel-max: argmax(logits / T + Gumbel noise) is a draw from softmax(logits / T).
            u = torch.rand(out.shape, generator=generator).clamp_(1e-10, 1.0)
            q = (out / temperature - torch.log(-torch.log(u))).argmax(-1)
        return mulaw.dequantize(q, self.levels - 1)

    @torch.inference_mode()
    def generate(self, seed: torch.Tensor, steps: int, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """seed: (B, n, frame) audio frames -> (B, steps, frame) continuation.

        The seed runs through in one call (warming the state up); then one step per frame,
        feeding each generated frame back in.
        """
        if self.output == "logmag":
            return self._generate_grains(seed, steps, temperature, generator)
        out, state = self(self.encode_input(seed), None)
        last = out[:, -1]
        frames = []
        for _ in range(steps):
            frame = self.sample(last, temperature, generator)    # (B, frame)
            frames.append(frame)
            out, state = self(self.encode_input(frame)[:, None], state)
            last = out[:, -1]
        return torch.stack(frames, dim=1)

    def _generate_grains(self, seed: torch.Tensor, steps: int, temperature: float,
                         generator: torch.Generator | None) -> torch.Tensor:
        F = self.frame
        out, state = self(self.encode_input(seed), None)
        k = torch.arange(F + 1, dtype=torch.float32)
        advance = math.pi * k                                # hop F = half a grain of 2F
        phase = torch.rand((seed.shape[0], F + 1), generator=generator) * 2 * math.pi
        pending = torch.zeros(seed.shape[0], F)              # the previous grain's second half
        logmag = out[:, -1]
        frames = []
        for _ in range(steps):
            jitter = torch.rand(phase.shape, generator=generator) * 2 * math.pi - math.pi
            phase = phase + advance + temperature * jitter
            grain = torch.fft.irfft(torch.polar(logmag.exp(), phase), 2 * F) * self.window
            frame = (pending + grain[:, :F]).clamp(-1.0, 1.0)
            pending = grain[:, F:]
            frames.append(frame)
            out, state = self(self.encode_input(frame)[:, None], state)
            logmag = out[:, -1]
        return torch.stack(frames, dim=1)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
