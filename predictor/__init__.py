"""Neural-predictor architecture search on NAS-Bench-101."""
