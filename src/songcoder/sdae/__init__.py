"""Stacked denoising autoencoder: layers, regularizers, optimizers, greedy pretraining, fine-tuning."""

from songcoder.sdae.layer import DenoisingLayer
from songcoder.sdae.stack import DeepAutoencoder
from songcoder.sdae.train import (encode, finetune, load, make_layer, pretrain_layer, reconstruct,
                                  save, train_all, write_history_csv)

__all__ = ["DenoisingLayer", "DeepAutoencoder", "encode", "finetune", "load", "make_layer",
           "pretrain_layer", "reconstruct", "save", "train_all", "write_history_csv"]
