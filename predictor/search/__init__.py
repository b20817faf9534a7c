"""Architecture search on a NAS-Bench-101 file: strategies under one query budget, and their comparison.

- `search_space.SearchSpace`: the op vocabulary (3 real ops + K zero ops), sampling, mutation
  and the one cell type every strategy proposes (`Proposal`);
- `benchmark.Benchmark`: the pool (the modules of one HDF5 file) and its ground truth;
- `oracle.Oracle`: one trial's counted queries, any cell of the space through one `query`;
- `pool_mapping`: the rule for proposed cells the pool does not hold (nearest unqueried module);
- `strategies/`: random, regularized evolution, REINFORCE, progressive growth (PNAS, with
  `growth`), parameter ranking, predictor-guided search (iterative, one-shot, two-stage), all
  `Strategy.run(oracle, rng)`, none aware of the vocabulary's contents;
- `surrogate`, `sequence_surrogate`, `recipes`, `schedule`: the predictor inside a search (fit
  function injected, by default `predictor.gcn.training.fit`), its recipe and refit schedule;
- `registry`: strategies by name; `runner`: seeded trials over processes or Ray tasks;
- `statistics`, `report`, `plotting`, `trial_log`: curves, censored queries-to-target, the table,
  JSON, CSV, figure, the log of finished trials;
- `topk`: ranking the whole space with a trained predictor.

Command line: `search.py` at the top of the repository. The controller it shares with ENAS and
halfmoon is `predictor.controller`; the cell encodings are `predictor.data.encodings`.
"""
