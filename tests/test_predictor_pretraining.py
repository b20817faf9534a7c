"""Pre-training of the graph layers on the space: exact structure targets, learning, caching, loading."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from predictor.common.errors import TrainingDivergedError
from predictor.gcn import pretraining
from predictor.gcn.config import TrainConfig
from predictor.gcn.network import GCN, DirectedGraphConvolution
from predictor.gcn.training import fit
from tests.test_predictor_training import planted_labels, random_cells, random_modules

SMALL = TrainConfig.recommended().replace(hidden=16, readout_hidden=8, device="cpu")


def enumerated_paths(cell) -> list[list[int]]:
    """Every input-to-output path of a cell as the op codes on it, by depth-first search."""
    codes = {"conv3x3-bn-relu": 0, "conv1x1-bn-relu": 1, "maxpool3x3": 2}
    output = cell.num_vertices - 1

    def walk(vertex: int, ops: list[int]):
        if vertex == output:
            yield ops
            return
        for successor in np.flatnonzero(cell.matrix[vertex]):
            yield from walk(successor, ops + ([codes[cell.ops[successor]]] if successor != output else []))

    return list(walk(0, []))


def test_structure_targets_match_every_enumerated_path():
    cells = random_cells(300, seed=3)
    targets = pretraining.structure_targets(*random_modules(300, seed=3))
    for cell, row in zip(cells, targets):
        paths = enumerated_paths(cell)
        convs = [ops.count(0) for ops in paths]
        interior = cell.ops[1:-1]
        op_counts = [interior.count(op) for op in ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")]
        expected = [*op_counts, cell.num_vertices, cell.num_edges, len(paths)]
        expected += [max(len(ops) + 1 for ops in paths), max(convs), np.mean(convs)]
        np.testing.assert_allclose(row, expected, rtol=1e-12)


def test_pretraining_learns_the_targets_and_is_reproducible():
    arrays = random_modules(600, seed=5)
    encoder, losses = pretraining.pretrain_encoder(SMALL, *arrays, epochs=30, seed=1, batch_size=32)
    again, _ = pretraining.pretrain_encoder(SMALL, *arrays, epochs=30, seed=1, batch_size=32)
    assert losses[-1] < 0.85 * losses[0]  # standardised targets: 1.0 is knowing nothing
    assert set(encoder) == {f"graph_layers.{i}.weight" for i in range(SMALL.layers)}
    for name in encoder:
        torch.testing.assert_close(encoder[name], again[name], rtol=0, atol=0)


def test_a_larger_vocabulary_keeps_its_own_rows_for_the_extra_ops():
    encoder, _ = pretraining.pretrain_encoder(SMALL, *random_modules(100), epochs=1)
    network = GCN(SMALL.replace(num_op_types=5), torch.Generator().manual_seed(0))
    fresh = network.graph_layers[0].weight.detach().clone()
    pretraining.load_encoder(network, encoder)
    first = network.graph_layers[0].weight.detach()
    torch.testing.assert_close(first[:5], encoder["graph_layers.0.weight"], rtol=0, atol=0)
    torch.testing.assert_close(first[5:], fresh[5:], rtol=0, atol=0)
    with pytest.raises(ValueError, match="does not fit"):
        pretraining.load_encoder(GCN(SMALL.replace(hidden=8)), encoder)


@pytest.fixture
def small_space(tmp_path, monkeypatch):
    """The cache in a temporary folder, the 'space' 400 random cells: pre-training in a second."""
    cells = random_modules(400, seed=6)
    monkeypatch.setattr(pretraining, "space_cells", lambda progress=False: cells)
    monkeypatch.setattr(pretraining, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(pretraining, "_loaded", {})
    return tmp_path


def test_fit_starts_from_the_cached_encoder(small_space, monkeypatch):
    config = SMALL.replace(pretraining_epochs=2, epochs=1, lr=1e-12)  # fine-tuning leaves the weights in place
    adjacency, operations, num_vertices = random_modules(40, seed=7)
    labels = planted_labels(operations, num_vertices)
    model = fit(adjacency, operations, num_vertices, labels, config, seed=0, engine="plain")
    (path,) = small_space.iterdir()
    assert path == pretraining.cache_path(config)
    record = torch.load(path, weights_only=True)
    assert record["cells"] == 400 and len(record["losses"]) == 2
    assert model.info["pretraining_seconds"] == pytest.approx(record["seconds"], abs=1e-3)
    for name, weight in record["encoder"].items():
        torch.testing.assert_close(model.network.state_dict()[name], weight, rtol=0, atol=1e-6)

    # Another process (empty memo) reads the file instead of pre-training again.
    monkeypatch.setattr(pretraining, "_loaded", {})
    monkeypatch.setattr(pretraining, "pretrain_encoder", lambda *a, **k: pytest.fail("pre-trained again"))
    fit(adjacency, operations, num_vertices, labels, config, seed=1, engine="plain")


def test_an_encoder_cached_meanwhile_by_another_process_is_used(small_space, monkeypatch):
    config = SMALL.replace(pretraining_epochs=1)
    theirs, _ = pretraining.pretrain_encoder(config, *random_modules(50, seed=8), epochs=1, seed=9)
    original = pretraining.pretrain_encoder

    def racing(*args, **kwargs):
        torch.save({"encoder": theirs, "losses": [1.0], "seconds": 1.0, "cells": 1}, pretraining.cache_path(config))
        return original(*args, **kwargs)

    monkeypatch.setattr(pretraining, "pretrain_encoder", racing)
    record = pretraining.cached_encoder(config)
    for name, weight in theirs.items():
        torch.testing.assert_close(record["encoder"][name], weight, rtol=0, atol=0)
    assert [p.name for p in small_space.iterdir()] == [pretraining.cache_path(config).name]  # no temporary left


def test_a_damaged_cache_file_is_named_with_what_to_do(small_space):
    config = SMALL.replace(pretraining_epochs=1)
    pretraining.cache_path(config).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable pre-trained encoder.*delete it"):
        pretraining.cached_encoder(config)


def test_pretraining_that_diverges_is_an_error(monkeypatch):
    monkeypatch.setattr(pretraining, "LEARNING_RATE", 1e30)
    with pytest.raises(TrainingDivergedError, match="pre-training diverged"):
        pretraining.pretrain_encoder(SMALL, *random_modules(100), epochs=3, batch_size=10)


def _extra_graph_layer(monkeypatch):
    """network.py with a fourth graph convolution after the configured ones: a layer added in that file alone."""
    original = GCN.__init__

    def with_extra_layer(self, config, generator=None):
        original(self, config, generator)
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.graph_layers.append(DirectedGraphConvolution(config.hidden, config.hidden, config.dropout, generator))

    monkeypatch.setattr(GCN, "__init__", with_extra_layer)


def test_a_layer_added_in_the_network_gets_an_encoder_of_its_own(small_space, monkeypatch):
    config = SMALL.replace(pretraining_epochs=1, epochs=1, lr=1e-12)  # fine-tuning leaves the weights in place
    arrays = random_modules(40, seed=7)
    labels = planted_labels(arrays[1], arrays[2])
    fit(*arrays, labels, config, seed=0)
    (before,) = small_space.iterdir()

    _extra_graph_layer(monkeypatch)
    model = fit(*arrays, labels, config, seed=0)
    (after,) = set(small_space.iterdir()) - {before}
    record = torch.load(after, weights_only=True)
    assert sorted(record["encoder"]) == [f"graph_layers.{i}.weight" for i in range(SMALL.layers + 1)]
    for name, weight in record["encoder"].items():
        torch.testing.assert_close(model.network.state_dict()[name], weight, rtol=0, atol=1e-6)


def _cached(config) -> dict:
    record, _ = pretraining.pretrain_encoder(config, *random_modules(50, seed=8), epochs=1)
    return {"encoder": record, "losses": [1.0], "seconds": 1.0, "cells": 50}


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: {**r, "encoder": {f"x{k}": v for k, v in r["encoder"].items()}}, "not an encoder of this network"),
        (lambda r: {**r, "encoder": list(r["encoder"].values())}, "not a set of named weights"),
        (lambda r: [r], "not a readable pre-trained encoder"),
        (lambda r: {**r, "encoder": {k: v[:, :3] for k, v in r["encoder"].items()}}, "not an encoder of this network"),
        (lambda r: {**r, "encoder": {k: v * np.nan for k, v in r["encoder"].items()}}, "non-finite weights"),
    ],
    ids=["renamed keys", "a list of weights", "a list", "other shapes", "NaN weights"],
)
def test_a_cache_of_something_else_is_one_error_naming_the_file(small_space, damage, message):
    config = SMALL.replace(pretraining_epochs=1)
    path = pretraining.cache_path(config)
    torch.save(damage(_cached(config)), path)
    with pytest.raises(ValueError, match=message) as error:
        pretraining.cached_encoder(config)
    assert str(error.value).startswith(f"{path}: ") and "delete it" in str(error.value)


def test_an_encoder_that_cannot_be_saved_is_used_and_said(small_space, monkeypatch, capsys):
    """A cache folder that cannot be written (here: its parent is a file, unwritable even for root)."""
    blocker = small_space / "blocker"
    blocker.write_text("")
    monkeypatch.setattr(pretraining, "CACHE_DIR", blocker / "pretrained")
    config = SMALL.replace(pretraining_epochs=1)
    record = pretraining.cached_encoder(config)
    assert set(record["encoder"]) == {f"graph_layers.{i}.weight" for i in range(SMALL.layers)}
    (line,) = capsys.readouterr().err.splitlines()
    assert f"used for this run only, not saved to {pretraining.cache_path(config)} (" in line
    assert "made again next time" in line
    assert pretraining.cached_encoder(config)["encoder"] is record["encoder"]  # from memory for the rest of the run


def test_a_label_out_of_range_is_named_not_called_a_divergence():
    arrays = random_modules(40, seed=7)
    labels = planted_labels(arrays[1], arrays[2])
    labels[3] = 1e30
    with pytest.raises(ValueError, match=r"accuracies lie in \[0, 1\], got 1e\+30 \(training module 3\)"):
        fit(*arrays, labels, SMALL.replace(epochs=1))


def test_a_first_run_prints_its_parts(small_space, sample_hdf5, sample_splits, tmp_path, capsys):
    import train

    args = ["--split", "172", "--data", str(sample_hdf5), "--splits-dir", str(sample_splits), "--epochs", "2"]
    assert train.main([*args, "--pretraining-epochs", "1", "--out", str(tmp_path / "first"), "--quiet"]) == 0
    first = capsys.readouterr().out
    assert train.main([*args, "--pretraining-epochs", "1", "--out", str(tmp_path / "again"), "--quiet"]) == 0
    again = capsys.readouterr().out
    pattern = r"trained in [\d.]+ s .*, after [\d.]+ s for the space's cells and [\d.]+ s pre-training the encoder"
    assert re.search(pattern, first) and "pre-training" not in again


def test_an_encoder_that_a_full_disk_stops_is_used_and_said(small_space, monkeypatch, capsys):
    def full_disk(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:595] . unexpected pos 82112 vs 82000")

    monkeypatch.setattr(torch, "save", full_disk)
    config = SMALL.replace(pretraining_epochs=1)
    record = pretraining.cached_encoder(config)
    assert set(record["encoder"]) == {f"graph_layers.{i}.weight" for i in range(SMALL.layers)}
    (line,) = capsys.readouterr().err.splitlines()
    assert "not saved to" in line and "a full disk?" in line
    assert list(small_space.iterdir()) == []  # no temporary file left
