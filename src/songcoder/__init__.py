"""songcoder: songs -> 1482-d song vectors -> short codes (a stacked denoising autoencoder), and
an audio RNN that continues songs. README.md maps the pipeline; src/songcoder/sdae/README.md the model."""
