"""The data wing: everything about the benchmark's cells and records, no learning.

- `cell`, `graph`   the immutable validated `Cell` and the official module hash
- `encodings`       every other form of a cell: padded arrays, the fixed 7-slot layout, raw specs,
                    controller decisions, layout keys and edit codes
- `records`, `model_metrics`   TFRecord framing (CRC32C) and the ModelMetrics protobuf
- `schema`          the one HDF5 schema (dataset names, metrics axes)
- `convert`         tfrecord -> HDF5, in worker processes
- `dataset`         `NASBench`: the HDF5 file behind a query API like the official one
- `space`           all 423,624 unique cells, enumerated in the official order and cached
- `splits`, `labels`   train/evaluation index files and the regression targets
- `synthetic`       full-size synthetic tfrecords for size and speed benchmarks only
- `atomic`          outputs that appear whole or not at all
- `workers`         worker processes that can neither hang nor outlive the command
"""
