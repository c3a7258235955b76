import numpy as np
import torch

from songcoder.rnn.data import StreamBatches, shift_offsets


def _songs(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(np.float32) for n in (5000, 7000, 6000)]


def _batches(batching, seed=0, songs=None, **kw):
    args = dict(frame=32, tbptt=10, chunks=3, batch_size=6, n_streams=4)
    args.update(kw)
    return StreamBatches(songs or _songs(), batching=batching, rng=np.random.default_rng(seed),
                         **args)


def test_shifted_batches_are_shifted_copies_of_one_excerpt():
    ds = _batches("shifted")
    offsets = shift_offsets(6, 32)
    assert len(set(offsets.tolist())) == 6 and offsets[0] == 0
    for k in range(len(ds)):
        x = ds[k]["x"]                                   # (B, T + 1, frame)
        flat = x.reshape(6, -1)
        n = flat.shape[1]
        for i, off in enumerate(offsets):
            # element i is element 0 moved earlier by `off` samples
            torch.testing.assert_close(flat[i, : n - off], flat[0, off:], rtol=0, atol=0)
        assert not torch.equal(flat[1], flat[0])


def test_shifted_excerpt_is_really_from_a_song():
    songs = _songs()
    ds = _batches("shifted", songs=songs)
    ids, starts = ds.plan[0]
    x = ds[0]["x"][0].reshape(-1).numpy()
    np.testing.assert_array_equal(x, songs[ids[0]][starts[0]: starts[0] + len(x)])


def test_stream_chunks_continue_each_other():
    ds = _batches("random")
    assert ds.chunks == 3
    a, b = ds[0], ds[1]
    assert a["first"] and not b["first"] and ds[3]["first"]
    # the last input frame's target (frame T) is the next window's first input frame
    torch.testing.assert_close(a["x"][:, -1], b["x"][:, 0], rtol=0, atol=0)


def test_random_batching_draws_independent_excerpts():
    ds = _batches("random")
    ids, starts = ds.plan[0]
    assert len(set(zip(ids.tolist(), starts.tolist()))) == 6


def test_plans_are_deterministic_under_seed():
    a, b, c = _batches("shifted", 3), _batches("shifted", 3), _batches("shifted", 4)
    torch.testing.assert_close(a[5]["x"], b[5]["x"])
    assert not torch.equal(a[5]["x"], c[5]["x"])


def test_short_songs_shorten_streams():
    short = [np.zeros(32 * 10 + 32 + 5 * 5, np.float32) + 0.1]
    ds = _batches("shifted", songs=short)
    assert ds.chunks == 1 and len(ds) == 4


def test_song_store_holds_every_song_exactly_and_batches_read_from_it(tmp_path):
    import soundfile as sf
    from songcoder.rnn.data import SongStore

    songs = _songs()
    paths = []
    for i, s in enumerate(songs):
        paths.append(str(tmp_path / f"s{i}.wav"))
        sf.write(paths[-1], s * 0.1, 8000, subtype="FLOAT")
    store = SongStore(paths, 8000, tmp_path / "songs.f32")
    assert len(store) == 3 and (tmp_path / "songs.f32").stat().st_size == 4 * sum(map(len, songs))
    for s, stored in zip(songs, store):
        np.testing.assert_array_equal(stored, s * np.float32(0.1))
    assert isinstance(store[1], np.memmap)                # a view of the file, not a copy
    picked = list(store.sample(2))
    assert [len(s) for s in picked] == [5000, 6000] and picked[0].flags.writeable  # first, last
    a = _batches("random", songs=store)[0]["x"]
    b = _batches("random", songs=[s * np.float32(0.1) for s in songs])[0]["x"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
