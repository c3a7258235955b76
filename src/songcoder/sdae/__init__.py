"""Stacked denoising autoencoder. Training: `sdae.train` (greedy pretraining, fine-tuning, with
`layer`, `stack`, `module`, `data`, `optim`, `regularizers`); inference: `sdae.serving`
(imports no Lightning, so the CLI and the MLflow model start fast)."""
