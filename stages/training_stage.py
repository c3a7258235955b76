"""The training stages' one skeleton (pretrain@K, finetune, train_rnn): a checkpoint folder
keyed by the params and the data (a rerun after a kill resumes only the same run), the
stage's MLflow run, the fit, then on rank 0 the model file, the per-epoch curve and the
metrics, written and logged; the checkpoints go once the model file is written.
Rank 0 alone writes (`tracking.is_rank_zero`, the project's one rank test outside Lightning's
own callbacks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from songcoder import tracking
from songcoder.atomic import save_json
from songcoder.figures import results
from songcoder.training import checkpoint_dir, drop_checkpoints, write_history


def train_stage(stage: str, cfg: dict, data_key: Any, fit: Callable[..., tuple[dict, Any]],
                save: Callable[[Any], None], *, metrics_path: str, plot_path: str,
                headline: tuple[str, ...], summary: Callable[[dict], str]) -> None:
    """fit(ckpt_dir=, logger=) -> (metrics with a per-epoch "history", model); save(model)
    writes the model file(s); summary(metrics) is the line printed at the end."""
    ckpt = checkpoint_dir(stage, *cfg.values(), data_key)
    with tracking.stage_run(stage, cfg) as run:
        metrics, model = fit(ckpt_dir=ckpt, logger=run.lightning_logger())
        if tracking.is_rank_zero():
            save(model)
            write_history(plot_path, metrics.pop("history"))
            save_json(metrics_path, results(metrics))
            run.log_best(metrics, headline=headline)
            run.log_artifact(metrics_path)
            run.log_artifact(plot_path)
            print(f"{stage}: {summary(metrics)}")
            drop_checkpoints(ckpt)
