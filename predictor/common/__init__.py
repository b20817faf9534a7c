"""What several wings share and none owns: errors, the optional Ray, the torch device.

- `errors`        `TrainingDivergedError` (every training loop), `TooFewKeptError` (two-stage fits)
- `ray_support`   importing the optional Ray, with the one install hint
- `device`        "auto" -> cuda when available, else cpu
"""
