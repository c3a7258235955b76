"""`make real`'s collector on a package tree made here (nothing is downloaded)."""

import zipfile

import numpy as np

from songcoder.audio.gamemusic import PACKAGES, collect
from tests.conftest import write_audio


def test_collect_keeps_music_once_and_skips_links_and_sound_effects(tmp_path):
    tree = tmp_path / "unpacked"
    x = np.zeros((8000, 2), np.float32)
    write_audio(tree / "usr/share/game/music/theme.ogg", x, 8000)
    write_audio(tree / "usr/share/game/sounds/click.ogg", x, 8000)          # a sound effect
    (tree / "usr/share/game/en").mkdir(parents=True)
    (tree / "usr/share/game/en/theme.ogg").symlink_to("../music/theme.ogg")  # the same track again
    (tree / "usr/share/doc").mkdir(parents=True)
    (tree / "usr/share/doc/copyright").write_text("GPL")
    song = write_audio(tmp_path / "in_pk3.ogg", x, 8000).read_bytes()
    with zipfile.ZipFile(tree / "usr/share/game/data.pk3", "w") as z:
        z.writestr("music/level1.ogg", song)
        z.writestr("music/theme.ogg", song)                                  # name clash: kept apart
        z.writestr("sound/cdtracks/track3.ogg", song)                        # nexuiz keeps music here
        z.writestr("sounds/boom.ogg", song)
        z.writestr("maps/level1.bsp", b"map")
    out = collect(tree, tmp_path / "dest")
    names = sorted(p.name for p in out)
    assert names == ["level1.ogg", "theme-1.ogg", "theme.ogg", "track3.ogg"]
    assert all(p.parent == tmp_path / "dest" and p.stat().st_size > 0 for p in out)


def test_every_package_names_its_licence():
    assert len(PACKAGES) == 7 and all(PACKAGES.values())
