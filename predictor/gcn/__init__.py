"""The GCN predictor wing. Depends on `predictor.data` and `predictor.common` only.

- `network`     the model in plain PyTorch: layers, readout, targets, loss (the one file to edit)
- `training`    `fit`; `engines`: the plain (autograd) and fused engines that take its steps
- `fused`, `losses`, `flat_adam`, `gemm`   the fused engine: hand-written passes, objective, optimizer, matmul
- `fitted`      `Predictor`, a fitted GCN: predict (never NaN), save, load; `features`: graphs encoded once
- `config`      `TrainConfig` with the paper's and the recommended settings
- `pretraining` the graph layers pre-trained on every cell of the space, cached once per network shape
- `evaluation`, `cross_validation`, `two_stage`, `baselines`, `experiment`, `reporting`, `plots`, `runtime`
"""
