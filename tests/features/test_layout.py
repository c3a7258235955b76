import numpy as np
import pytest

from songcoder.features import layout


def _covered(slices):
    count = np.zeros(layout.DIM, int)
    for s in slices:
        count[s] += 1
    return count


def test_dimensions_match_the_seed():
    assert (layout.RHYTHM_BANDS, layout.TICKS, layout.LOUDNESS_BANDS, layout.QUANTILES) == (3, 384, 30, 11)
    assert layout.DIM == 1482 == 3 * 384 + 30 * 11


def test_band_slices_cover_every_index_exactly_once():
    slices = [layout.rhythm_slice(b) for b in range(layout.RHYTHM_BANDS)]
    slices += [layout.loudness_slice(b) for b in range(layout.LOUDNESS_BANDS)]
    assert (_covered(slices) == 1).all()
    assert all(s.stop - s.start == layout.TICKS for s in slices[:3])
    assert all(s.stop - s.start == layout.QUANTILES for s in slices[3:])


def test_groups_cover_every_index_exactly_once():
    assert list(layout.GROUPS) == ["rhythm_low", "rhythm_mid", "rhythm_high", "loudness"]
    assert (_covered(layout.GROUPS.values()) == 1).all()
    assert layout.GROUPS["loudness"] == slice(1152, 1482)


def test_out_of_range_band_is_an_error():
    with pytest.raises(IndexError):
        layout.rhythm_slice(3)
    with pytest.raises(IndexError):
        layout.loudness_slice(-1)


def test_names_and_band_edges():
    names = layout.feature_names()
    assert len(names) == layout.DIM == len(set(names))
    assert names[layout.rhythm_slice(1).start] == "rhythm_mid/t000"
    assert names[layout.loudness_slice(7).start + 5] == "loudness_b07/q50"
    edges = layout.LOUDNESS_EDGES_HZ
    assert len(edges) == layout.LOUDNESS_BANDS + 1 and (np.diff(edges) > 0).all()
    assert np.isclose(edges[0], 30.0) and np.isclose(edges[-1], 5000.0)
    lo = [e[0] for e in layout.RHYTHM_EDGES_HZ]
    hi = [e[1] for e in layout.RHYTHM_EDGES_HZ]
    assert lo[1:] == hi[:-1]
