import dataclasses
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, dvc_stages, run
from songcoder import config as c


def test_repo_params_are_valid():
    sections = c.validate_all(ROOT / "params.yaml")
    assert sections["sdae"].layers == [352, 84, 21]
    assert isinstance(sections["data"], c.DataConfig)


def test_params_yaml_holds_the_defaults_and_every_key():
    """params.yaml is the defaults' one home: each section's dataclass defaults are exactly
    its values (code that builds a config without params.yaml gets what a user reads there),
    and no key of a dataclass is missing from the file."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert set(params) == set(c.SECTIONS)
    for name, cls in c.SECTIONS.items():
        assert set(params[name]) == {f.name for f in dataclasses.fields(cls)}, name
        assert c.as_dict(cls()) == c.as_dict(c.build(cls, name, params[name])), name


@pytest.mark.parametrize("raw, message", [
    ({"songs": "many"}, "data.songs: expected an integer"),
    ({"songs": 2}, "data.songs: expected a value >= 3"),
    ({"songs": True}, "data.songs: expected an integer"),
    ({"sonsg": 3}, "data.sonsg: unknown key"),
    ({"source": "youtube"}, "data.source: expected one of 'synth', 'folder'"),
    ({"seconds": float("nan")}, "data.seconds: expected a finite number"),
    ({"split": [0.5, 0.5]}, "data.split: expected three fractions"),
    ({"split": [0.7, 0.2, "x"]}, "data.split[2]: expected a number"),
    ({"source": "folder", "folder": ""}, "data.folder: required"),
])
def test_bad_data_params_name_the_key(raw, message):
    with pytest.raises(c.ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        c.build(c.DataConfig, "data", raw)


def test_cross_field_and_section_errors(tmp_path: Path):
    with pytest.raises(c.ConfigError, match="prepare.max_bpm"):
        c.build(c.PrepareConfig, "prepare", {"min_bpm": 100.0, "max_bpm": 150.0})
    with pytest.raises(c.ConfigError, match="sdae: expected a mapping"):
        c.build(c.SdaeConfig, "sdae", [1, 2])
    with pytest.raises(c.ConfigError, match="sdae.finetune_rank_ordered: keeps the rank order"):
        c.build(c.SdaeConfig, "sdae", {"finetune_rank_ordered": True})
    assert c.build(c.SdaeConfig, "sdae", {"finetune_rank_ordered": True,
                                          "regularizer": "rank_ordered",
                                          "linear_path": False}).finetune_rank_ordered
    with pytest.raises(c.ConfigError, match="sdae.finetune_rank_ordered"):
        c.build(c.SdaeConfig, "sdae", {"finetune_rank_ordered": "maybe",
                                       "regularizer": "rank_ordered", "linear_path": False})
    with pytest.raises(c.ConfigError, match=r"sdae.same_song_rows: 40 rows of a song must fit in a batch"):
        c.build(c.SdaeConfig, "sdae", {"same_song_weight": 1.0, "same_song_rows": 40})
    with pytest.raises(c.ConfigError, match="sdae.same_song_temperature: expected a value > 0"):
        c.build(c.SdaeConfig, "sdae", {"same_song_temperature": 0.0})
    with pytest.raises(c.ConfigError, match="sdae.same_song_rows: expected a value >= 2"):
        c.build(c.SdaeConfig, "sdae", {"same_song_rows": 1})
    with pytest.raises(c.ConfigError, match="rnn.head_fraction: the pointer scores every step"):
        c.build(c.RnnConfig, "rnn", {"head_fraction": 0.5})
    assert c.build(c.RnnConfig, "rnn", {"head_fraction": 0.5, "representation": "mulaw"})
    p = tmp_path / "params.yaml"
    p.write_text("data: {}\nmystery: {a: 1}\n")
    with pytest.raises(c.ConfigError, match="mystery: unknown section"):
        c.validate_all(p)
    p.write_text("data: [unclosed\n")
    with pytest.raises(c.ConfigError, match="not valid YAML"):
        c.load_section("data", p)


def test_ints_widen_to_float_and_hash_is_stable():
    cfg = c.build(c.DataConfig, "data", {"seconds": 10})
    assert cfg.seconds == 10.0 and isinstance(cfg.seconds, float)
    assert c.params_hash(cfg) == c.params_hash(c.build(c.DataConfig, "data", {"seconds": 10.0}))
    assert c.params_hash(cfg) != c.params_hash(c.DataConfig())


def test_stage_stops_before_any_work_on_bad_params(repo):
    params = yaml.safe_load((repo.path / "params.yaml").read_text())
    params["data"]["songs"] = -5
    (repo.path / "params.yaml").write_text(yaml.safe_dump(params))
    p = run(["sh", "-c", dvc_stages(repo.path)["ingest"].cmd], repo.path, check=False)
    assert p.returncode == 2
    assert "data.songs: expected a value >= 3, got -5" in p.stderr
    assert not (repo.path / "data").exists() and not (repo.path / "mlflow.db").exists()


def test_sdae_layers_may_have_any_length():
    for sizes in ([21], [64, 21], [352, 128, 84, 42, 21]):
        assert c.build(c.SdaeConfig, "sdae", {"layers": sizes}).layers == sizes
    with pytest.raises(c.ConfigError, match="sdae.layers: expected at least one layer size"):
        c.build(c.SdaeConfig, "sdae", {"layers": []})
