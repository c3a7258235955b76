"""The pictures of what the autoencoder learned (evaluate/pictures.py)."""

import struct

import matplotlib.image
import numpy as np
import pytest
import torch

from songcoder.evaluate import pictures
from songcoder.pca import PCA
from songcoder.features import layout
from songcoder.features.norm import Norm
from songcoder.sdae.stack import DeepAutoencoder
from songcoder.sdae.synthetic import song_vectors

NAMES = ("units.png", "preferred_inputs.png", "code_map.png", "reconstructions.png")


def png_size(path) -> tuple[int, int]:
    """(width, height) from a PNG's header; fails on anything that is not a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


def check_pictures(paths, out_dir):
    assert [p.name for p in paths] == list(NAMES) and all(p.parent == out_dir for p in paths)
    for p in paths:
        w, h = png_size(p)
        assert 500 <= w <= 4000 and 400 <= h <= 4000, (p.name, w, h)
        pixels = matplotlib.image.imread(p)[..., :3]
        # something is drawn: far from one flat colour, and not mostly blank
        assert pixels.std() > 0.05 and (pixels.min(-1) < 0.9).mean() > 0.02, p.name


def stack(*sizes, seed=0):
    """An untrained (random) autoencoder n_in -> ... -> code, as the pipeline builds them."""
    torch.manual_seed(seed)
    return DeepAutoencoder([dict(n_in=a, n_out=b, activation="tanh",
                                 out_activation="linear" if i == 0 else "tanh")
                            for i, (a, b) in enumerate(zip(sizes, sizes[1:]))])


def test_pictures_of_a_trained_model_in_the_seed_layout(labelled_songs, trained, tmp_path):
    tr, _, te, style, _ = labelled_songs
    raw, _, _ = song_vectors(200, seed=5)                 # the fixture's rows before z-scoring
    norm = Norm.of(raw[:120].mean(0), raw[:120].std(0) + 1e-6)
    _, model = trained
    paths = pictures.save_pictures(model, tr, te, norm, PCA.fit(tr, 21), ("style", style.astype(str)),
                                   [f"song{i}" for i in range(len(te))], tmp_path, n_inputs=8)
    check_pictures(paths, tmp_path)


def test_pictures_in_the_extended_layout_with_any_code_size(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, layout.EXTENDED_DIM)).astype(np.float32)
    norm = Norm.of(np.zeros(layout.EXTENDED_DIM), np.ones(layout.EXTENDED_DIM))
    labels = np.array(["a", "b", "c"] * 4)[:10]
    paths = pictures.save_pictures(stack(layout.EXTENDED_DIM, 24, 5), x[:30], x[30:], norm,
                                   PCA.fit(x[:30], 24), ("collection folder", labels), list("abcdefghij"), tmp_path,
                                   n_inputs=7)
    check_pictures(paths, tmp_path)
    with pytest.raises(ValueError, match="1482"):          # a vector of no known layout
        pictures.save_pictures(stack(100, 3), x[:30, :100], x[30:, :100], norm,
                               PCA.fit(x[:30, :100], 3), ("style", labels), list("abcdefghij"), tmp_path)


def test_unit_effect_of_a_linear_decoder_is_its_weight_column():
    # one linear layer: decode(c) = W^T c + b, so moving unit j from lo to hi draws
    # (hi - lo) * w_j; hi - lo is 4 train stds unless the range seen on train clips it
    model = stack(layout.DIM, 3)
    model.layers[0].act = model.layers[0].out_act                   # linear code
    x = np.random.default_rng(1).normal(size=(50, layout.DIM)).astype(np.float32)
    codes = (x @ model.layers[0].weight.detach().numpy().T + model.layers[0].bias.detach().numpy())
    effect = pictures.unit_effects(model, x, codes)
    base = codes.mean(0)                                            # the code of the mean song
    hi = np.minimum(base + 2 * codes.std(0), codes.max(0))
    lo = np.maximum(base - 2 * codes.std(0), codes.min(0))
    w = model.layers[0].weight.detach().numpy()
    np.testing.assert_allclose(effect, (hi - lo)[:, None] * w, rtol=1e-3, atol=1e-5)


def test_preferred_inputs_are_unit_norm_weights_in_the_layout():
    w = np.zeros((2, layout.DIM), np.float32)
    w[0, layout.rhythm_slice(1)][96:108] = 3.0      # unit 0: mid band, the first 1/32 of beat 2
    w[1, layout.loudness_slice(7)][10] = -4.0        # unit 1: band 7's loudest quantile
    rhythm, loud = pictures.preferred_inputs(w, 2)
    assert rhythm.shape == (2, 3, 32) and loud.shape == (2, 30, 11)
    assert rhythm[0, 1, 8] == pytest.approx(1 / np.sqrt(12)) and np.count_nonzero(rhythm[0]) == 1
    assert loud[1, 7, 10] == pytest.approx(-1.0) and np.count_nonzero(rhythm[1]) == 0


def test_code_map_colours_by_style_or_by_collection_folder():
    synth = [{"path": "data/audio/s1.flac", "style": "funk"},
             {"path": "data/audio/s2.flac", "style": "chiptune"}]
    what, labels = pictures.song_groups(synth, "music")
    assert what == "style" and labels.tolist() == ["funk", "chiptune"]
    real = [{"path": "real/music/asc-music/frontiers.mp3", "style": ""},     # no style: folders
            {"path": "./real/music/ufoai-music/disc1/a.ogg"},                 # deeper: first one
            {"path": "real/music/loose.mp3"},                                 # in the folder
            {"path": "elsewhere/pack/b.mp3"}]                                 # not under it
    what, labels = pictures.song_groups(real, "real/music/")
    assert what == "collection folder"
    assert labels.tolist() == ["asc-music", "ufoai-music", "music", "pack"]
