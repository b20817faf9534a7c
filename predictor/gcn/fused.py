"""The fused engine: `network.GCN` computed by hand, forward and backward, for speed.

Why: training the paper's setting is 5,100 steps of batch 10, where framework overhead
weighs as much as arithmetic in a plain module. Here each graph layer is one matmul with
both directions' weights side by side (the plain module's [W_fwd | W_bwd]), one batched
7x7 mixing product and a few element-wise ops into buffers kept from step to step
(`FusedPass`), and the backward pass is written out by hand: a training step builds no
autograd graph. The weights are the plain module's own parameters (views, never copies),
so whatever trains them, the model is the plain module.

The engine knows one network: `GCN` as written, with the settings of `KNOWN_SETTINGS`.
`structure_problem` and `FusedGCN.probe_problem` say why it cannot compute a network
(another structure, a setting it does not know, or a probe batch on which it does not give
the plain module's outputs, loss and gradients); `fit` then refuses (engine="fused") or
trains with the plain engine ("auto").
"""

from __future__ import annotations

import dataclasses

import torch

from predictor.data.cell import MAX_VERTICES
from predictor.gcn.config import TrainConfig
from predictor.gcn.gemm import matmul_for
from predictor.gcn.losses import objective
from predictor.gcn.network import GCN, DirectedGraphConvolution, loss

ENGINES = ("auto", "plain", "fused")
# Settings whose every value the fused engine computes; a setting added later is refused unless at its default.
KNOWN_SETTINGS = frozenset(
    ("hidden", "layers", "readout_hidden", "dropout", "readout", "num_op_types", "epochs", "batch_size", "lr")
    + ("weight_decay", "task", "regression_weight", "label_floor", "ranking_weight", "ranking_temperature")
    + ("threshold", "device", "threads")
    + ("pretraining_epochs",)  # pre-training sets the initial weights only
)
PROBE_TOLERANCE = 1e-4  # largest difference allowed on the probe, relative to the largest magnitude


class FusedEngineError(ValueError):
    """The fused engine cannot compute this network or setting."""


def fused_parameters(network: GCN) -> list[torch.nn.Parameter]:
    """The plain module's parameters in the order the fused passes take them: graph layers, fc1, fc2."""
    return [layer.weight for layer in network.graph_layers] + [network.fc1, network.fc2]


def structure_problem(network: torch.nn.Module, config: TrainConfig) -> str | None:
    """Why the network or setting is not the one the fused engine knows (None: it is)."""
    for field in dataclasses.fields(config):
        if field.name not in KNOWN_SETTINGS and getattr(config, field.name) != field.default:
            return f"setting {field.name}={getattr(config, field.name)!r} is unknown to it"
    if type(network) is not GCN or any(type(layer) is not DirectedGraphConvolution for layer in network.graph_layers):
        return f"the network is a {type(network).__name__}, not the GCN it knows"
    expected = {f"graph_layers.{i}.weight" for i in range(config.layers)} | {"fc1", "fc2"}
    names = {name for name, _ in network.named_parameters()}
    if names != expected or any(True for _ in network.buffers()):
        return f"the network's parameters {sorted(names)} are not the ones it knows {sorted(expected)}"
    pooled = config.hidden * (2 if config.readout == "mean-output" else 1)
    widths = [config.num_op_types + 2] + [config.hidden] * (config.layers - 1)
    shapes = [(width, 2 * config.hidden) for width in widths] + [
        (pooled, config.readout_hidden),
        (config.readout_hidden, 1),
    ]
    if [tuple(p.shape) for p in fused_parameters(network)] != shapes:
        return "the network's weight shapes are not the ones it knows"
    return None


class FusedGCN:
    """The fused passes of one `GCN`, sharing its parameters; passes are kept per (batch size, mode)."""

    def __init__(self, network: GCN, config: TrainConfig):
        self.network, self.config = network, config
        self._passes: dict[tuple[int, torch.device, bool], FusedPass] = {}

    def weights(self) -> list[torch.Tensor]:
        """Detached views of the plain module's parameters (they follow its updates)."""
        return [p.detach() for p in fused_parameters(self.network)]

    def pass_for(self, batch: int, device: torch.device, training: bool) -> FusedPass:
        key = (batch, device, training)
        if key not in self._passes:
            if len(self._passes) >= 4:
                self._passes.pop(next(iter(self._passes)))
            self._passes[key] = FusedPass(self.config, batch, device, training)
        return self._passes[key]

    @torch.no_grad()
    def predict(self, nodes: torch.Tensor, propagation: torch.Tensor, pooling: torch.Tensor, batch_size: int):
        """(n,) outputs in evaluation mode, in chunks of `batch_size`."""
        weights, n = self.weights(), len(nodes)
        out = torch.empty(n, device=nodes.device)
        for start in range(0, n, batch_size):
            part = slice(start, start + batch_size)
            size = len(nodes[part])
            fused = self.pass_for(size, nodes.device, False) if size == batch_size else None
            fused = fused or FusedPass(self.config, size, nodes.device, False)
            out[part] = fused.forward(nodes[part], propagation[part], pooling[part], None, weights)
        return out

    def probe_problem(self, nodes, propagation, pooling, targets, masks) -> str | None:
        """Where the fused engine departs from the plain module on a probe batch (None: nowhere).

        masks: one step's plain dropout masks (0 or 1/(1-p)) for the batch, as `GCN.dropout_shapes`.
        """
        network, batch = self.network, len(nodes)
        parameters = fused_parameters(network)
        training = network.training
        network.train()
        try:
            with torch.enable_grad():  # the caller may predict under no_grad
                plain_outputs = network(nodes, propagation, pooling, masks)
                plain_loss = loss(plain_outputs, targets, self.config)
                plain_gradients = torch.autograd.grad(plain_loss, parameters)
            with torch.no_grad():
                network.eval()
                plain_eval = network(nodes, propagation, pooling)
        finally:
            network.train(training)
        fused = FusedPass(self.config, batch, nodes.device, True)
        weights = self.weights()
        outputs = fused.forward(nodes, propagation, pooling, fused_masks(masks), weights)
        fused_loss, grad_outputs = objective(self.config)(outputs, targets)
        gradients = [torch.empty_like(w) for w in weights]
        fused.backward(grad_outputs, gradients)
        evaluation = FusedPass(self.config, batch, nodes.device, False).forward(
            nodes, propagation, pooling, None, weights
        )
        checks = [("outputs", outputs, plain_outputs), ("evaluation outputs", evaluation, plain_eval)]
        checks += [("loss", fused_loss, plain_loss)]
        names = [name for name, p in network.named_parameters() if any(p is q for q in parameters)]
        checks += [(f"gradient of {name}", g, e) for name, g, e in zip(names, gradients, plain_gradients)]
        for name, got, expected in checks:
            scale = max(1.0, float(expected.detach().abs().max()))
            if not float((got - expected.detach()).abs().max()) <= PROBE_TOLERANCE * scale:
                return f"its {name} differ from the plain module's on a probe batch"
        return None


def fused_masks(masks: list[torch.Tensor]) -> list[torch.Tensor]:
    """Plain dropout masks -> the fused pass's: graph layers' masks carry the 1/2 of the directions' mean."""
    return [m * 0.5 for m in masks[:-1]] + [masks[-1]]


def mask_scales(config: TrainConfig) -> list[float]:
    """The value a kept unit's mask holds in the fused passes, per mask (graph layers, then the readout)."""
    keep = 1.0 / (1.0 - config.dropout)
    return [0.5 * keep] * config.layers + [keep]


class FusedPass:
    """One forward pass and its hand-written backward pass at one batch size, in buffers kept between calls.

    Training mixes both directions with one batched product: the propagation matrices (B, 2, 7, 7),
    read as (B, 14, 7) = [P_fwd; P_bwd], times U = [X W_fwd | X W_bwd] (B, 7, 2H) give a 2 x 2
    block matrix whose diagonal blocks are P_fwd X W_fwd and P_bwd X W_bwd. The off-diagonal
    blocks are wasted but cheap arithmetic at training's small batches; in exchange nothing is
    transposed or copied, and the gradient buffer's off-diagonal blocks simply stay zero; the first
    layer mixes its T-wide input before the weight product, (P X) W. Forward-only passes (prediction,
    large batches) mix each direction apart instead, without the waste. Buffers, their views and
    the kind of each matrix product are set up once, so a training step is a few dozen kernel calls.
    What `forward` saves for `backward` lives until the next `forward`.
    """

    def __init__(self, config: TrainConfig, batch: int, device: torch.device, training: bool):
        v, hidden, layers = MAX_VERTICES, config.hidden, config.layers
        self.layers, self.batch, self.training = layers, batch, training
        pooled_vectors = 2 if config.readout == "mean-output" else 1
        self.graph_mm = matmul_for(batch * v * hidden * 2 * hidden, device)
        self.readout_mm = matmul_for(batch * pooled_vectors * hidden * config.readout_hidden, device)
        self.layer_outputs = [torch.empty(batch, v, hidden, device=device) for _ in range(layers)]
        if training:
            self.mixed = [torch.empty(batch, 2 * v, 2 * hidden, device=device) for _ in range(layers)]
            blocks = [m.view(batch, 2, v, 2, hidden) for m in self.mixed]
            self.along, self.against = [b[:, 0, :, 0] for b in blocks], [b[:, 1, :, 1] for b in blocks]
            self.active = [torch.empty_like(m) for m in self.mixed]  # relu': 1 where a unit is on, else 0
            self.grad_mixed = [torch.zeros_like(m) for m in self.mixed]
            self.grad_mixed_diagonal = [
                torch.diagonal(g.view(batch, 2, v, 2, hidden), dim1=1, dim2=3) for g in self.grad_mixed
            ]
        else:  # forward only: each direction is mixed into a buffer of its own
            self.along = [torch.empty(batch, v, hidden, device=device) for _ in range(layers)]
            self.against = [torch.empty(batch, v, hidden, device=device) for _ in range(layers)]
        self.saved = None

    def forward(self, nodes, propagation, pooling, masks, weights) -> torch.Tensor:
        """(B, 7, T) / (B, 2, 7, 7) / (B, P, 7) -> (B,); masks None = evaluation mode."""
        batch, v = self.batch, MAX_VERTICES
        graph, fc1, fc2 = weights[: self.layers], weights[-2], weights[-1]
        stacked = propagation.reshape(batch, 2 * v, v)
        mixed_nodes = torch.bmm(stacked, nodes).view(batch * 2 * v, -1) if self.training else None  # (B*14, T)
        x = nodes
        for layer, weight in enumerate(graph):
            if self.training and layer == 0:  # (P X) W: the input is only T wide
                torch.mm(mixed_nodes, weight, out=self.mixed[0].view(batch * 2 * v, -1)).relu_()
                torch.sign(self.mixed[0], out=self.active[0])  # outputs of relu are >= 0: sign is relu'
            else:
                u = (self.graph_mm if layer else torch.mm)(x.reshape(batch * v, -1), weight)
                if self.training:
                    torch.bmm(stacked, u.view(batch, v, -1), out=self.mixed[layer]).relu_()
                    torch.sign(self.mixed[layer], out=self.active[layer])
                else:
                    u = u.view(batch, v, 2, -1)
                    torch.bmm(propagation[:, 0], u[:, :, 0], out=self.along[layer]).relu_()
                    torch.bmm(propagation[:, 1], u[:, :, 1], out=self.against[layer]).relu_()
            x = torch.add(self.along[layer], self.against[layer], out=self.layer_outputs[layer])
            x.mul_(masks[layer]) if masks is not None else x.mul_(0.5)
        pooled = torch.bmm(pooling, x).view(batch, -1)  # (B, P*H)
        h = self.readout_mm(pooled, fc1)
        if masks is not None:
            h.mul_(masks[-1])
        out = torch.mm(h, fc2).view(batch)
        if self.training:
            self.saved = (mixed_nodes, stacked, pooling, masks, weights, pooled, h)
        return out

    def backward(self, grad_out: torch.Tensor, into: list[torch.Tensor]) -> None:
        """Write the gradients of the weights (in the order `forward` took them) into `into`, given
        d loss / d outputs (B,)."""
        batch, v = self.batch, MAX_VERTICES
        mixed_nodes, stacked, pooling, masks, weights, pooled, h = self.saved
        graph, fc1, fc2 = weights[: self.layers], weights[-2], weights[-1]
        grad_graph, grad_fc1, grad_fc2 = into[: self.layers], into[-2], into[-1]
        grad_out = grad_out.view(batch, 1)
        torch.mm(h.t(), grad_out, out=grad_fc2)
        grad_h = torch.mm(grad_out, fc2.t()).mul_(masks[-1])
        grad_fc1.copy_(self.readout_mm(pooled.t(), grad_h))
        grad_pooled = self.readout_mm(grad_h, fc1.t())
        grad_x = torch.bmm(pooling.transpose(1, 2), grad_pooled.view(batch, pooling.shape[1], -1))  # (B, 7, H)
        stacked_t = stacked.transpose(1, 2)
        for layer in reversed(range(self.layers)):
            grad_x.mul_(masks[layer])
            # into the diagonal blocks (the off-diagonal ones stay zero), then relu' on the whole contiguous buffer
            diagonal = self.grad_mixed_diagonal[layer]  # (B, 7, H, 2)
            diagonal.copy_(grad_x.unsqueeze(-1).expand_as(diagonal))
            self.grad_mixed[layer].mul_(self.active[layer])
            grad_mixed = self.grad_mixed[layer].view(batch * 2 * v, -1)  # (B*14, 2H)
            if layer == 0:
                torch.mm(mixed_nodes.t(), grad_mixed, out=grad_graph[0])
                break
            grad_u = torch.bmm(stacked_t, self.grad_mixed[layer]).view(batch * v, -1)  # (B*7, 2H)
            grad_graph[layer].copy_(self.graph_mm(self.layer_outputs[layer - 1].view(batch * v, -1).t(), grad_u))
            grad_x = self.graph_mm(grad_u, graph[layer].t()).view(batch, v, -1)
