"""The GCN predictor wing: the directed graph network, its training, evaluation and baselines.

Depends on `predictor.data` only.
"""
