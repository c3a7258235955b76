"""The frame-level audio RNN: frames of `frame` samples in, the next frame out.

Input frames are mu-law companded (log-like amplitude, so quiet passages are not lost in
the noise floor of the inputs); the output is either a frame of samples (`wave`, for the
time_mse and spectral losses) or, per sample, logits over 256 mu-law levels (`mulaw`).
Generation carries the recurrent state, so each new frame costs one step.

`logmag`: an autoregressive model of the grain spectrogram. A *grain* is two consecutive
frames under a sqrt-Hann window; grain t covers frames t and t + 1, so grains overlap by one
frame. Per step the model hears the log-magnitude spectrum of one grain (frame + 1 bins,
standardised per bin with the training data's statistics) and outputs a mixture of
`mixtures` diagonal Gaussians over the next grain's log-magnitude spectrum. The mixture is
what lets it say "a drum hit, or the chord ringing on" instead of averaging the two into a
smear: generation *draws* a component (softmax of its logits / temperature) and a deviation
(temperature x sigma), so onsets happen, at the moments the model thinks likely. The drawn
log-magnitudes are fed back as the next input, exactly as the model would hear real audio's
(no phase in the loop, so nothing drifts between what it says and what it hears). Audio is
made by giving each grain a phase - at `phase_jitter` 0 each bin advances as a steady sinusoid
at the bin's centre frequency would (a phase vocoder: held notes stay coherent), at 1 it is
drawn uniformly, in between it is jittered - and overlap-adding grains at a hop of one frame
(sqrt-Hann again: the two windows multiply to a Hann, whose half-overlapped copies sum to 1).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from songcoder.rnn import mulaw

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None
LOG_EPS = 1e-3          # log(|X| + eps): a floor 60 dB under a full-scale bin
LOG_SIGMA = (-5.0, 2.0)  # clamp of a mixture component's log-std (standardised units)


def grain_window(frame: int) -> torch.Tensor:
    """sqrt of a periodic Hann of 2 * frame: analysis and synthesis window of `logmag` grains."""
    return torch.hann_window(2 * frame, periodic=True).sqrt()


def grain_logmag(frames: torch.Tensor) -> torch.Tensor:
    """(..., T, frame) audio frames -> (..., T - 1, frame + 1) log-magnitudes of their grains."""
    grains = torch.cat([frames[..., :-1, :], frames[..., 1:, :]], dim=-1)
    window = grain_window(frames.shape[-1]).to(frames)
    return torch.log(torch.fft.rfft(grains * window, dim=-1).abs() + LOG_EPS)


class Mixture:
    """A `logmag` step's output split into a diagonal Gaussian mixture (standardised units)."""

    def __init__(self, z: torch.Tensor, k: int):
        d = (z.shape[-1] // k - 1) // 2
        self.logits = z[..., :k]                                        # (..., K)
        mu_sigma = z[..., k:].unflatten(-1, (k, 2 * d))
        self.mu = mu_sigma[..., :d]                                     # (..., K, D)
        self.log_sigma = mu_sigma[..., d:].clamp(*LOG_SIGMA)

    def nll(self, y: torch.Tensor) -> torch.Tensor:
        """(..., D) standardised targets -> (...) negative log-likelihood in nats."""
        zsq = ((y.unsqueeze(-2) - self.mu) * torch.exp(-self.log_sigma)) ** 2
        comp = -(0.5 * zsq + self.log_sigma).sum(-1)                    # (..., K)
        log_pi = torch.log_softmax(self.logits, -1)
        return -torch.logsumexp(log_pi + comp, -1) + 0.5 * y.shape[-1] * math.log(2 * math.pi)

    def mean(self) -> torch.Tensor:
        return (torch.softmax(self.logits, -1).unsqueeze(-1) * self.mu).sum(-2)

    def sample(self, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
        """One draw per row; temperature 0: the most likely component's mean."""
        if temperature <= 0:
            k = self.logits.argmax(-1)
        else:
            u = torch.rand(self.logits.shape, generator=generator).clamp_(1e-10, 1.0)
            k = (self.logits / temperature - torch.log(-torch.log(u))).argmax(-1)  # Gumbel-max
        index = k[..., None, None].expand(*k.shape, 1, self.mu.shape[-1])
        mu = self.mu.gather(-2, index)[..., 0, :]
        sigma = self.log_sigma.gather(-2, index)[..., 0, :].exp()
        noise = torch.randn(mu.shape, generator=generator)
        return mu + temperature * sigma * noise


class AudioRNN(nn.Module):
    def __init__(self, frame: int = 256, cell: str = "lstm", layers: int = 2, hidden: int = 256,
                 mlp_in: int = 0, mlp_out: int = 0, output: str = "wave", levels: int = 256,
                 embed: int = 16, sample_rate: int = 16000, mixtures: int = 8):
        super().__init__()
        if cell not in ("lstm", "gru") or output not in ("wave", "mulaw", "logmag"):
            raise ValueError(f"cell {cell!r} / output {output!r} not supported")
        self.kwargs = dict(frame=frame, cell=cell, layers=layers, hidden=hidden, mlp_in=mlp_in,
                           mlp_out=mlp_out, output=output, levels=levels, embed=embed,
                           sample_rate=sample_rate, mixtures=mixtures)
        self.frame, self.output, self.levels, self.embed = frame, output, levels, embed
        self.sample_rate, self.mixtures = sample_rate, mixtures
        n_in = frame + 1 if output == "logmag" else frame
        self.inp = nn.Sequential(nn.Linear(n_in, mlp_in), nn.Tanh()) if mlp_in else nn.Identity()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(mlp_in or n_in, hidden, layers, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(hidden, mlp_out), nn.Tanh()) if mlp_out else nn.Identity()
        top = mlp_out or hidden
        if output == "wave":
            self.head = nn.Linear(top, frame)
        elif output == "logmag":
            self.head = nn.Linear(top, mixtures * (2 * n_in + 1))
            # per-bin statistics of the training data's grain log-magnitudes (fit_data)
            self.register_buffer("bin_mean", torch.zeros(n_in))
            self.register_buffer("bin_std", torch.ones(n_in))
            self.register_buffer("window", grain_window(frame), persistent=False)
        else:
            # Factorised per-sample head: hidden -> (frame, embed) -> relu -> levels. A full
            # hidden x (frame * 256) layer would be 16 M weights for frame 256.
            self.head = nn.Linear(top, frame * embed)
            self.classes = nn.Linear(embed, levels)

    def fit_data(self, songs) -> None:
        """Data-dependent starting points, from a subsample of the training songs.

        mulaw: the level logits start at the data's marginal log-frequencies (from a flat start
        the output bias needs thousands of small Adam steps to learn how peaked the level
        distribution is). logmag: per-bin mean and std that standardise the spectra.
        """
        if self.output == "mulaw":
            counts = torch.ones(self.levels)                   # add-one: no level impossible
            for song in songs:
                q = mulaw.quantize(torch.as_tensor(song[::7]), self.levels - 1)   # subsample
                counts += torch.bincount(q, minlength=self.levels)
            logp = torch.log(counts / counts.sum())
            with torch.no_grad():
                self.classes.bias.copy_(logp - logp.mean())
        elif self.output == "logmag":
            F = self.frame
            rows = []
            for song in songs:                                 # every 8th grain of each song
                n = len(song) // F
                frames = torch.as_tensor(song[: n * F]).view(n, F)
                rows.append(grain_logmag(frames)[::8])
            y = torch.cat(rows)
            with torch.no_grad():
                self.bin_mean.copy_(y.mean(0))
                self.bin_std.copy_(y.std(0).clamp_min(1e-3))

    def features(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """x: (B, T, n_in) encoded inputs -> (B, T, hidden) top-layer states."""
        return self.rnn(self.inp(x), state)

    def predict(self, h: torch.Tensor) -> torch.Tensor:
        """(..., hidden) -> (..., frame) samples, (..., frame, levels) logits or mixture params."""
        z = self.head(self.mlp(h))
        if self.output in ("wave", "logmag"):
            return z
        z = torch.relu(z.view(*z.shape[:-1], self.frame, self.embed))
        return self.classes(z)

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        h, state = self.features(x, state)                 # (B, T, hidden)
        return self.predict(h), state

    def encode_input(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, frame) audio -> model inputs: (B, T, frame) companded samples, or for
        `logmag` (B, T - 1, frame + 1) standardised grain log-magnitudes."""
        if self.output == "logmag":
            return self.standardise(grain_logmag(frames))
        return mulaw.compress(frames)

    def standardise(self, logmag: torch.Tensor) -> torch.Tensor:
        return (logmag - self.bin_mean) / self.bin_std

    def mixture(self, out: torch.Tensor) -> Mixture:
        return Mixture(out, self.mixtures)

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
                 generator: torch.Generator | None = None,
                 phase_jitter: float = 0.6) -> torch.Tensor:
        """seed: (B, n, frame) audio frames -> (B, steps, frame) continuation.

        The seed runs through in one call (warming the state up); then one step per frame,
        feeding each generated frame back in.
        """
        if self.output == "logmag":
            return self._generate_grains(seed, steps, temperature, generator, phase_jitter)
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
                         generator: torch.Generator | None, phase_jitter: float) -> torch.Tensor:
        if seed.shape[1] < 2:
            raise ValueError(f"a logmag seed needs 2 frames ({2 * self.frame} samples)")
        F = self.frame
        out, state = self(self.encode_input(seed), None)    # the seed's grains
        advance = math.pi * torch.arange(F + 1, dtype=torch.float32)   # hop F = half a grain
        phase = torch.rand((seed.shape[0], F + 1), generator=generator) * 2 * math.pi
        pending = None                                       # the previous grain's second half
        frames = []
        # The first drawn grain covers the seed's last frame and the first new one: only its
        # second half is used, so steps + 1 grains make `steps` frames.
        for _ in range(steps + 1):
            y = self.mixture(out[:, -1]).sample(temperature, generator)  # standardised
            logmag = y * self.bin_std + self.bin_mean
            jitter = torch.rand(phase.shape, generator=generator) * 2 * math.pi - math.pi
            phase = phase + advance + phase_jitter * jitter
            mag = (logmag.exp() - LOG_EPS).clamp_min(0.0)
            grain = torch.fft.irfft(torch.polar(mag, phase), 2 * F) * self.window
            if pending is not None:
                frames.append((pending + grain[:, :F]).clamp(-1.0, 1.0))
            pending = grain[:, F:]
            out, state = self(y[:, None], state)
        return torch.stack(frames, dim=1)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
