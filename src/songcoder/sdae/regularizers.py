"""Loss terms of one denoising layer: reconstruction, seed 004's sparse cost, seed 003's rank order.

Reconstruction is seed 004's J_mse: half the squared error summed over features, averaged over
samples, so the sparse cost's lambda and beta keep the meaning (and UFLDL defaults) they have
there. Scale-free quality numbers (relative error) are computed separately.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Act = Callable[[torch.Tensor], torch.Tensor]


def half_sse(x_hat: torch.Tensor, x: torch.Tensor, weight: torch.Tensor | None = None
             ) -> torch.Tensor:
    """0.5 * sum over features of the squared error, mean over samples. x, x_hat: (B, D).

    weight (D,), mean 1 (`feature_weights`): each feature's squared error is scaled by it, so
    the loss stays D times a weighted mean and all-ones weights give the plain cost.
    """
    sq = (x_hat - x).pow(2)
    return 0.5 * (sq if weight is None else sq * weight).sum(-1).mean()


def kl_sparsity(h: torch.Tensor, rho: float, eps: float = 1e-6) -> torch.Tensor:
    """sum_j KL(rho || rho_hat_j), rho_hat_j = mean activation of unit j over the batch. h: (B, H) in [0, 1]."""
    rho_hat = h.mean(0).clamp(eps, 1 - eps)                               # (H,)
    return (rho * torch.log(rho / rho_hat)
            + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def weight_decay(*weights: torch.Tensor) -> torch.Tensor:
    """0.5 * sum of squared weights (biases excluded, as in seed 004); lambda is applied by the caller."""
    return 0.5 * sum(w.pow(2).sum() for w in weights)


def rank_ordered_naive(h: torch.Tensor, w_dec: torch.Tensor, b_dec: torch.Tensor,
                       x: torch.Tensor, out_act: Act, weight: torch.Tensor | None = None
                       ) -> torch.Tensor:
    """Rank-ordered reconstruction cost, materialising every prefix (B, H, D): the reference.

    Unit j reconstructs r_j = h_j * w_dec[:, j]; units are sorted by activation (largest first)
    and prefix k outputs out_act(b + r_(1) + ... + r_(k)). The cost is the mean over prefixes
    of half_sse, so the strongest units are pushed to reconstruct the input on their own.
    h: (B, H), w_dec: (D, H), b_dec: (D,), x: (B, D); weight (D,): per-feature, as in half_sse.
    """
    order = h.argsort(dim=1, descending=True)                             # (B, H)
    a = h.gather(1, order)                                                # (B, H) sorted activations
    cols = w_dec.t()[order]                                               # (B, H, D) sorted decoder columns
    prefix = b_dec + torch.cumsum(a.unsqueeze(-1) * cols, dim=1)          # (B, H, D)
    sq = (out_act(prefix) - x.unsqueeze(1)).pow(2)                        # (B, H, D)
    return 0.5 * (sq if weight is None else sq * weight).sum(-1).mean()


def rank_ordered_linear(h: torch.Tensor, w_dec: torch.Tensor, b_dec: torch.Tensor,
                        x: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Same cost as `rank_ordered_naive` for a linear output, in O(B*H^2) memory instead of O(B*H*D).

    With e0 = x - b, p = e0 @ W (projections) and G = W^T W (Gram), the prefix-k error is
    |e_k|^2 = |e0|^2 - 2 sum_{i<=k} a_i p_i + sum_{i,j<=k} a_i a_j G_ij, all in sorted order.
    With per-feature weights w the norm is |e|_w^2 = sum_d w_d e_d^2: p = (w e0) @ W and
    G = W^T diag(w) W.
    """
    wd = w_dec if weight is None else weight.unsqueeze(-1) * w_dec         # diag(w) W
    order = h.argsort(dim=1, descending=True)                             # (B, H)
    a = h.gather(1, order)                                                # (B, H)
    e0 = x - b_dec                                                        # (B, D)
    p = (e0 @ wd).gather(1, order)                                        # (B, H)
    gram = w_dec.t() @ wd                                                 # (H, H)
    g = gram[order.unsqueeze(-1), order.unsqueeze(1)]                     # (B, H, H) sorted Gram
    lower = torch.tril(torch.ones_like(gram), diagonal=-1)                # strictly earlier units
    cross = torch.bmm(g * lower, a.unsqueeze(-1)).squeeze(-1)             # (B, H): sum_{j<k} G_kj a_j
    quad = torch.cumsum(a * (2 * cross + a * torch.diagonal(g, dim1=1, dim2=2)), dim=1)
    lin = torch.cumsum(a * p, dim=1)                                      # (B, H)
    e0_sq = e0.pow(2) if weight is None else e0.pow(2) * weight
    sq = e0_sq.sum(-1, keepdim=True) - 2 * lin + quad                     # (B, H) |e_k|^2
    return 0.5 * sq.mean()


def keep_top(h: torch.Tensor, k: int) -> torch.Tensor:
    """h (B, H) with all but each row's k largest activations set to 0 (unit "off").

    The rank order sorts by activation, largest first (as `rank_ordered_naive`), and an unranked
    unit contributes h_j * w_j = 0 to the decoder's input, so 0 is the value the cost trains as
    "off": prefix k of the cost is exactly decode(keep_top(h, k)).
    """
    rank = h.argsort(dim=1, descending=True).argsort(dim=1)               # (B, H) 0 = most active
    return h * (rank < k)


def rank_ordered_deep(h: torch.Tensor, decode: Act, x: torch.Tensor,
                      weight: torch.Tensor | None = None) -> torch.Tensor:
    """The rank-ordered cost through a whole (non-linear, multi-layer) decoder: the mean over
    prefixes k = 1..H of half_sse(decode(keep_top(h, k)), x). Fine-tuning's form
    (`sdae.finetune_rank_ordered`); for one layer it equals `rank_ordered_naive`.

    Every prefix is decoded, so a step costs about H decoder passes. h: (B, H), x: (B, D).
    """
    b, n = h.shape
    rank = h.argsort(dim=1, descending=True).argsort(dim=1)               # (B, H)
    ks = torch.arange(n, device=h.device).view(1, n, 1)                   # prefix k-1
    prefixes = h.unsqueeze(1) * (rank.unsqueeze(1) <= ks)                 # (B, K, H)
    out = decode(prefixes.reshape(b * n, n)).reshape(b, n, -1)            # (B, K, D)
    sq = (out - x.unsqueeze(1)).pow(2)
    return 0.5 * (sq if weight is None else sq * weight).sum(-1).mean()
