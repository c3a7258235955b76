"""Song features: tempo and bar phase, rhythm patterns, loudness quantiles (the 1482-d vector)."""
