"""Search strategies, one per module, all behind `base.Strategy`."""
