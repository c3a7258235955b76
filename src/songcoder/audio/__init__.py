"""Audio in and out: decoding, validation, resampling, and the synthetic corpus."""
