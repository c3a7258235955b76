"""Weights of tempo.beat_salience. Written by benchmarks/beat_salience.py score
--write-weights; do not edit by hand.

A ridge regression (lambda = 0.01 x rows) from tempo.salience_inputs at tempo.SALIENCE_LAGS
to madmom's RNN beat activation (RNNBeatProcessor, 100 frames/s, read at our frame times), on
the middle 30 s of the 161 make-real train and val songs, each also stretched by `sox tempo`
at 0.8, 0.9, 1.12 and 1.25. madmom was the teacher only; nothing here imports it. The same fit
in 5 folds by song (each song scored by the fold that left it out), tempo.py with it vs without:
agreement with madmom (x2/x3) 0.9193 vs 0.8634, sox stretch Acc1 0.7314 vs 0.7267.
"""

BIAS = -0.0142089
# WEIGHTS[i]: the flux SALIENCE_LAGS[i] frames away, per band group (low to high), then all bands
WEIGHTS = (
    (0.0159696, 0.0129656, 0.0085125, 0.0050308, 0.0093798, 0.0196929, 0.0119252),
    (0.0392570, 0.0273907, 0.0171969, 0.0125339, 0.0155243, 0.0306603, 0.0237605),
    (0.0377555, 0.0131784, 0.0105506, 0.0085736, 0.0088613, 0.0196758, 0.0164325),
    (0.0202846, 0.0006398, 0.0034322, 0.0031066, 0.0024717, 0.0068968, 0.0061386),
    (0.0087155, -0.0014816, 0.0010474, 0.0019986, 0.0011354, 0.0010357, 0.0020752),
    (0.0026566, -0.0015957, 0.0000302, 0.0017805, 0.0006318, -0.0015913, 0.0003187),
    (-0.0007690, -0.0017770, -0.0011098, 0.0013155, 0.0000948, -0.0032671, -0.0009188),
    (-0.0019317, -0.0019615, -0.0016159, 0.0008120, 0.0005105, -0.0031192, -0.0012176),
    (-0.0034209, -0.0030804, -0.0029118, -0.0007292, -0.0006500, -0.0067968, -0.0029315),
)
