"""The pieces the fault tests rely on, in-process: RNG state round trip, the hook's spec,
leftover temp files of killed writers."""

import io
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from songcoder.atomic import save_json
from songcoder.errors import UserError
from songcoder.training import FaultInjection, RngState


def draws():
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]


def test_rng_state_round_trip_restores_every_global_generator():
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    state = RngState().state_dict()
    first = draws()
    torch.manual_seed(2), np.random.seed(2), random.seed(2)
    buf = io.BytesIO()
    torch.save(state, buf)                             # as a checkpoint stores it
    buf.seek(0)
    RngState().load_state_dict(torch.load(buf, weights_only=False))
    assert draws() == first


def test_fault_spec_is_checked_and_filtered_by_stage():
    hook = FaultInjection("pretrain_2", "kill:pretrain_1:1:0, nan:pretrain_2:3:4,hang:pretrain_2:0:1")
    assert hook.faults == {(3, 4): "nan", (0, 1): "hang"}
    for bad in ("explode:pretrain_2:1:1", "kill:pretrain_2:1", "kill:pretrain_2:x:1"):
        with pytest.raises(UserError, match="SONGCODER_FAULT"):
            FaultInjection("pretrain_2", bad)


def test_leftover_temp_of_a_dead_writer_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".m.json.tmp{dead.pid}"
    live = tmp_path / f".m.json.tmp{os.getppid()}"          # a writer that is still running
    stale.write_text("{half")
    live.write_text("{half")
    save_json(tmp_path / "m.json", {"a": 1})
    assert not stale.exists() and live.exists()
    assert (tmp_path / "m.json").read_text() == '{\n  "a": 1\n}\n'
