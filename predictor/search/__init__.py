"""Architecture search on a NAS-Bench-101 file: strategies under one query budget, and their comparison.

- `benchmark.Benchmark`: the pool (the modules of one HDF5 file) and its ground truth;
- `oracle.Oracle`: one trial's counted queries (one random stored repeat per query);
- `pool_mapping`: the rule for proposed cells the pool does not hold (nearest unqueried module);
- `strategies/`: random, regularized evolution, REINFORCE, progressive growth (PNAS), parameter
  ranking, predictor-guided search (iterative, one-shot, two-stage), all `Strategy.run(oracle, rng)`;
- `surrogate`, `recipes`, `schedule`: the predictor inside a search (fit function injected,
  by default `predictor.gcn.training.fit`), its training recipe and its refit schedule;
- `registry`: strategies by name; `runner`: seeded trials over processes or Ray tasks;
- `statistics`, `report`, `plotting`: curves, censored queries-to-target, the table, JSON, CSV, figure;
- `topk`: ranking the whole space with a trained predictor;
- `controller`: the recurrent policy over decision sequences that REINFORCE-style searches share;
- `halfmoon/`: the minimal-nas system (a controller searching small MLPs for halfmoons).

Command line: `search.py` at the top of the repository.
"""
