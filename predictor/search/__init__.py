"""Architecture search on a NAS-Bench-101 file: strategies under one query budget, and their comparison.

- `benchmark.Benchmark`: the pool (modules of one HDF5 file) and its ground truth;
- `oracle.Oracle`: one trial's counted queries; `pool_mapping`: the rule for cells outside the pool;
- `strategies/`: random, evolution, reinforce, progressive (PNAS), parameter ranking, predictor-guided;
- `runner`: seeded trials over processes; `statistics`, `report`, `plotting`: what a comparison shows;
- `topk`: ranking the whole space with a trained predictor.
"""
