import json

import numpy as np

from songcoder.config import EvaluateConfig
from songcoder.evaluate import evaluate_all
from songcoder.evaluate.plots import depth_rows, group_rows, history_figure, save_figures
from songcoder.evaluate.retrieval import precision_at_k
from songcoder.features.norm import denormalise
from songcoder.sdae.synthetic import song_vectors, zscore


def test_evaluate_all_reports_every_key_and_plots(labelled_songs, trained, tmp_path):
    tr, va, te, style, pattern = labelled_songs
    greedy, model = trained
    # two halves of each test song: the same song with a different noise draw
    xa, _, _ = song_vectors(200, seed=5, noise=0.08)
    xb, _, _ = song_vectors(200, seed=5, noise=0.02)
    _, ha, hb = zscore(xa[:120], xa[150:], xb[150:])
    _, va_a, va_b = zscore(xa[:120], xa[120:150], xb[120:150])   # the val songs' halves
    _, all_style, all_pattern = song_vectors(200, seed=5)        # the fixture's rows 120:150 are val
    cfg = EvaluateConfig(k=5)
    rng = np.random.default_rng(3)
    # a peer that knows each song (its two halves nearly the same point) and one that knows
    # nothing (noise), each with the rows whose statistics z-score it
    songs = rng.normal(size=(len(ha), 4))
    first, second = (songs + 0.01 * rng.normal(size=songs.shape) for _ in range(2))
    knows = (first, second, np.concatenate([first, second]))
    noise = tuple(rng.normal(size=(len(ha), 4)) for _ in range(3))
    m = evaluate_all(cfg, tr, te, finetuned=model, greedy=greedy, halves=(ha, hb),
                     val_halves=(va_a, va_b),
                     labels={"style": style, "pattern": pattern}, x_val=va,
                     val_labels={"style": all_style[120:150], "pattern": all_pattern[120:150]},
                     peers={"knows": knows, "noise": noise})
    json.dumps(m)                                                 # JSON-able as is
    assert set(m["rel_error"]) == {"finetuned_4", "greedy_48", "greedy_12", "greedy_4",
                                   "pca_48", "pca_12", "pca_4"}
    assert all(0 < v < 2 for v in m["rel_error"].values())
    assert m["rel_error"]["pca_48"] < m["rel_error"]["pca_12"] < m["rel_error"]["pca_4"] < 1
    assert set(m["rel_error_group"]["pca_4"]) == {"rhythm_low", "rhythm_mid", "rhythm_high", "loudness"}
    assert set(m["masked"]) == {"finetuned_4", "greedy_4", "pca_4"}
    for name in ("finetuned_4", "greedy_4", "greedy_12", "greedy_48"):   # ratio to PCA's, same size
        size = name.split("_")[1]
        assert m["rel_error_vs_pca"][name] == m["rel_error"][name] / m["rel_error"][f"pca_{size}"]
    r = m["retrieval"]
    for rep in ("code", "pca_4", "raw"):
        assert 0 <= r[f"top1_halves_{rep}"] <= r[f"mrr_halves_{rep}"] <= 1
        assert 0 <= r[f"p_at_5_{rep}"] <= 1
        assert 0 <= r[f"p_at_5_pattern_{rep}"] <= r[f"p_at_5_{rep}"] + 1e-9  # pattern implies style
    assert r["top1_halves_raw"] > 0.5                             # the halves really are alike
    assert r["halves_songs"] == len(ha)
    assert r["top1_halves_knows"] == r["mrr_halves_knows"] == 1.0
    assert r["top1_halves_noise"] < 0.3 and r["mrr_halves_noise"] < 0.5
    ci = m["retrieval_interval"]                                  # every rep, and code minus the others
    assert set(ci) == {"code", "pca_4", "raw", "knows", "noise", "code_minus_pca_4",
                       "code_minus_raw", "code_minus_knows", "code_minus_noise"}
    assert ci["knows"] == {"lo": 1.0, "hi": 1.0}
    assert ci["code_minus_knows"]["hi"] <= 0 and ci["code_minus_knows"]["above"] == 0.0
    for rep in ("code", "raw", "noise"):
        assert ci[rep]["lo"] <= r[f"top1_halves_{rep}"] <= ci[rep]["hi"]
    v = m["retrieval_val"]                  # same keys, the val split's rows and halves, no peers
    assert set(v) == {k for k in r if k.startswith("p_at_") or k == "halves_songs"
                      or (k.startswith(("top1_", "mrr_")) and k.endswith(("code", "pca_4", "raw")))}
    assert v["halves_songs"] == 30 and v["top1_halves_raw"] > 0.5
    for rep in ("code", "pca_4", "raw"):
        assert 0 <= v[f"top1_halves_{rep}"] <= v[f"mrr_halves_{rep}"] <= 1
    assert v["p_at_5_pattern_raw"] == precision_at_k(va, all_pattern[120:150], 5)
    no_val = evaluate_all(cfg, tr, te, finetuned=model, labels={"style": style})
    assert "retrieval_val" not in no_val and "greedy_4" not in no_val["rel_error"]
    assert isinstance(m["collapsed"], bool) and m["collapsed"] == m["collapse"]["finetuned_4"]["collapsed"]
    assert m["beats_pca"] == (m["rel_error"]["finetuned_4"] < m["rel_error"]["pca_4"])

    paths = save_figures(m, tmp_path)
    assert [p.name for p in paths] == ["rel_error_depth.png", "rel_error_groups.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
    rows = depth_rows(m)
    assert {r["model"] for r in rows} == {"finetuned", "greedy", "pca"} and len(rows) == 7
    assert len(group_rows(m)) == 3 * 4
    hist = [{"epoch": i, "val_rel_error": float(v)} for i, v in enumerate(np.linspace(1, .5, 5))]
    assert history_figure({"adam": hist}, tmp_path / "h.png").exists()


def test_raw_retrieval_z_scores_rows_that_prepare_left_at_raw_scales(labelled_songs, trained):
    """prepare.normalise false: the raw baseline z-scores with the train statistics given, so it
    ranks as on the z-scored rows; without them the loud dimensions would decide alone."""
    tr, _, te, style, _ = labelled_songs
    _, model = trained
    rng = np.random.default_rng(0)
    mean, std = rng.normal(0, 20, tr.shape[1]), rng.uniform(0.1, 30, tr.shape[1])
    cfg = EvaluateConfig(k=5)
    z = evaluate_all(cfg, tr, te, finetuned=model, labels={"style": style})["retrieval"]
    raw = evaluate_all(cfg, denormalise(tr, mean, std), denormalise(te, mean, std),
                       finetuned=model, labels={"style": style},
                       raw_stats=(mean, std))["retrieval"]
    unscaled = evaluate_all(cfg, denormalise(tr, mean, std), denormalise(te, mean, std),
                            finetuned=model, labels={"style": style})["retrieval"]
    assert raw["p_at_5_raw"] == z["p_at_5_raw"] != unscaled["p_at_5_raw"]
