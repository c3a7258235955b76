"""Write stages/layers.yaml: the part of the DVC graph that follows the length of sdae.layers.

dvc.yaml makes one `pretrain@K` stage per entry of that file (`foreach`), and finetune and
evaluate read the layer files it lists. DVC cannot derive the chain itself (layer K reads the
codes of layer K-1, and its templates have no arithmetic), so this file spells it out. After
changing the number of layers in params.yaml, run:  .venv/bin/python stages/layers.py
(the pretrain, finetune and evaluate stages stop with that advice when the counts disagree).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from songcoder.config import load_section

HERE = Path(__file__).resolve().parent
OUT = HERE / "layers.yaml"
FEATURES = "data/features"              # prepare's output: layer 1's input
FINETUNE_CURVE = "plots/finetune.csv"   # drawn with the layers' curves in one plot
HEADER = ("# Written by `python stages/layers.py` from sdae.layers in params.yaml; run it again "
          "after\n# changing the number of layers. dvc.yaml reads it (one pretrain stage per "
          "entry).\n")


def layer_vars(count: int) -> dict:
    """dvc.yaml vars for `count` layers: each pretrain stage's paths, the layer files in order."""
    stages = {}
    for k in range(1, count + 1):
        stages[str(k)] = {
            "input": FEATURES if k == 1 else stages[str(k - 1)]["codes"],
            "model": f"models/layers/layer_{k}.pt",
            "codes": f"data/codes/layer_{k}",
            "metrics": f"metrics/pretrain_{k}.json",
            "plot": f"plots/pretrain_{k}.csv",
        }
    return {
        "pretrain": stages,
        "layer_count": count,
        "layer_models": " ".join(s["model"] for s in stages.values()),
        "sdae_curves": {**{s["plot"]: "val_rel_error" for s in stages.values()},
                        FINETUNE_CURVE: "val_rel_error"},
    }


def render(count: int) -> str:
    return HEADER + yaml.safe_dump(layer_vars(count), sort_keys=False, width=100)


def main() -> None:
    params = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "params.yaml"
    count = len(load_section("sdae", params).layers)
    OUT.write_text(render(count))
    print(f"{OUT.relative_to(HERE.parent)}: {count} pretrain stages")


if __name__ == "__main__":
    main()
