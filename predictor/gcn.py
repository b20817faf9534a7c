"""The directed GCN of Wen et al. (2019), hand-fused, for many ensemble members at once.

Per graph-convolution layer, as in the reference implementation (`predictor/reference_gcn.py`):
    X' = dropout( (relu(P_fwd X W_fwd) + relu(P_bwd X W_bwd)) / 2 )
with P_fwd = rownorm(A + I) and P_bwd = rownorm(P_fwd^T). Readout: mean over the real
vertices, fc1, dropout, fc2 (the reference puts no activation between fc1 and fc2).

Why hand-fused: training the paper's setting is 5,100 steps of batch 10, where framework
overhead weighs as much as arithmetic in a plain module. Here each layer is one matmul with
both directions' weights side by side ([W_fwd | W_bwd], so the backward pass gets dX in one
product too), one batched 7x7 mixing product and a few element-wise ops, and the backward
pass is written out by hand: training calls `forward_with_cache` and `gradients` directly,
without autograd; `forward` wraps the same code as one autograd node for other callers.
Weights carry a leading member axis: an ensemble trains as one model, each member on its
own mini-batches.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from predictor.features import NUM_NODE_TYPES, GraphTensors
from predictor.gemm import large_mm, mm


@dataclass(frozen=True)
class Architecture:
    """Shape of the network; stored in every checkpoint."""

    members: int = 1
    hidden: int = 144
    layers: int = 3
    readout_hidden: int = 128
    outputs: int = 1  # main target first, then auxiliary targets
    dropout: float = 0.1
    bias: bool = False
    readout_activation: bool = False  # the reference has none between fc1 and fc2
    readout: str = "mean"  # "mean" (the paper) or "mean-output" (mean and the output vertex, concatenated)

    @property
    def pooled_vectors(self) -> int:
        return 2 if self.readout == "mean-output" else 1

    def dropout_shapes(self, batch: int) -> list[tuple[int, ...]]:
        """Shapes of one step's dropout masks: one per graph layer (E, B, 7, H), one for the readout (E, B, L)."""
        return [(self.members, batch, 7, self.hidden)] * self.layers + [(self.members, batch, self.readout_hidden)]

    def to_dict(self) -> dict:
        return asdict(self)


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1) * bound


class GCNEnsemble(nn.Module):
    """E directed-GCN networks with stacked weights; forward returns (E, B, outputs).

    graph_weights[l]: (E, F_l, 2H) = [W_fwd | W_bwd], Xavier-uniform per direction;
    fc weights use nn.Linear's default init, as the reference's fc layers do.
    """

    def __init__(self, architecture: Architecture, generator: torch.Generator | None = None):
        super().__init__()
        self.architecture = a = architecture
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        widths = [NUM_NODE_TYPES] + [a.hidden] * a.layers
        self.graph_weights = nn.ParameterList(
            nn.Parameter(_uniform((a.members, f_in, 2 * f_out), math.sqrt(6.0 / (f_in + f_out)), generator))
            for f_in, f_out in zip(widths[:-1], widths[1:])
        )
        pooled = a.hidden * a.pooled_vectors
        self.fc1_weight = nn.Parameter(_uniform((a.members, pooled, a.readout_hidden), pooled ** -0.5, generator))
        self.fc2_weight = nn.Parameter(
            _uniform((a.members, a.readout_hidden, a.outputs), a.readout_hidden ** -0.5, generator)
        )
        if a.bias:
            self.graph_biases = nn.ParameterList(nn.Parameter(torch.zeros(a.members, 2 * a.hidden)) for _ in range(a.layers))
            self.fc1_bias = nn.Parameter(_uniform((a.members, a.readout_hidden), pooled ** -0.5, generator))
            self.fc2_bias = nn.Parameter(_uniform((a.members, a.outputs), a.readout_hidden ** -0.5, generator))
        else:
            self.graph_biases = nn.ParameterList()
            self.fc1_bias = self.fc2_bias = None

    def flat_parameters(self) -> list[torch.Tensor]:
        """Weights in the order the fused function takes them."""
        biases = list(self.graph_biases) + [self.fc1_bias, self.fc2_bias] if self.architecture.bias else []
        return [*self.graph_weights, self.fc1_weight, self.fc2_weight, *biases]

    def forward(
        self,
        nodes: torch.Tensor,
        propagation: torch.Tensor,
        pooling: torch.Tensor,
        dropout_masks: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """nodes (E|1, B, 7, 5), propagation (E|1, B, 2, 7, 7), pooling (E|1, B, P, 7) -> (E, B, outputs).

        A leading 1 is shared by every member. dropout_masks: from `sample_dropout_masks`
        (one step's slice); None means evaluation mode. Gradients reach the weights only.
        """
        masks = dropout_masks if dropout_masks is not None else []
        weights = self.flat_parameters()
        keep_for_backward = torch.is_grad_enabled() and any(w.requires_grad for w in weights)
        if keep_for_backward and not masks:
            raise ValueError("training needs dropout masks (sample_dropout_masks gives them; p = 0 is allowed)")
        return _FusedGCN.apply(self, keep_for_backward, nodes, propagation, pooling, masks, *weights)

    def forward_with_cache(
        self, nodes: torch.Tensor, propagation: torch.Tensor, pooling: torch.Tensor, dropout_masks: list[torch.Tensor]
    ) -> tuple[torch.Tensor, ForwardCache]:
        """A training forward pass without autograd (weights are used detached): outputs (E, B, outputs)
        and what `gradients` needs."""
        members = self.architecture.members
        cache = ForwardCache(propagation, pooling, dropout_masks, self.member_weights(), [])
        if members == 1:  # the common case, without per-member slicing
            saved = []
            output = _member_forward(self.architecture, nodes[0], propagation[0], pooling[0],
                                     [m[0] for m in dropout_masks], cache.weights[0], saved)
            cache.saved.append(saved)
            return output.unsqueeze(0), cache
        outputs = []
        for member in range(members):
            saved = []
            outputs.append(
                _member_forward(
                    self.architecture, _pick(nodes, member), _pick(propagation, member), _pick(pooling, member),
                    [m[member] for m in dropout_masks], cache.weights[member], saved,
                )
            )
            cache.saved.append(saved)
        return torch.stack(outputs), cache

    def member_weights(self) -> list[list[torch.Tensor]]:
        """Per member, its weights (detached views, in `flat_parameters` order); cached while storage is unchanged."""
        # moving or re-packing the weights (.to(), FlatAdam) changes the storage of the first and last
        key = (self.graph_weights[0].data_ptr(), self.fc2_weight.data_ptr(), self.fc2_weight.device)
        if getattr(self, "_member_weights_key", None) != key:
            detached = [p.detach() for p in self.flat_parameters()]
            self._member_weights = [[w[e] for w in detached] for e in range(self.architecture.members)]
            self._member_weights_key = key
        return self._member_weights

    def gradients(self, cache: ForwardCache, grad_outputs: torch.Tensor) -> list[torch.Tensor]:
        """Gradients of the weights (order of `flat_parameters`) given d loss / d outputs (E, B, outputs)."""
        per_member = [
            _member_backward(
                self.architecture, _pick(cache.propagation, member), _pick(cache.pooling, member),
                [m[member] for m in cache.masks], cache.weights[member], cache.saved[member],
                grad_outputs[member].contiguous(),
            )
            for member in range(self.architecture.members)
        ]
        if len(per_member) == 1:
            return [g.unsqueeze(0) for g in per_member[0]]
        return [torch.stack(g) for g in zip(*per_member)]

    def sample_dropout_masks(
        self, steps: int, batch: int, rng: np.random.Generator, device: torch.device | str = "cpu"
    ) -> list[torch.Tensor]:
        """Dropout masks for `steps` training steps at once (see `DropoutMasks`); index [step] gives one forward's."""
        return DropoutMasks(self.architecture, steps, batch, rng, device).sample()

    @torch.no_grad()
    def predict(self, graphs: GraphTensors, batch_size: int = 256) -> torch.Tensor:
        """(E, n, outputs) raw outputs for pre-encoded graphs, in chunks, without autograd."""
        a = self.architecture
        out = torch.empty(a.members, len(graphs), a.outputs, device=graphs.nodes.device)
        weights = self.flat_parameters()
        for start in range(0, len(graphs), batch_size):
            part = graphs.select(slice(start, start + batch_size))
            for member in range(a.members):
                out[member, start:start + len(part)] = _member_forward(
                    a, part.nodes, part.propagation, part.pooling, None, [w[member] for w in weights], None
                )
        return out


def _split_weights(architecture: Architecture, weights: list[torch.Tensor]):
    layers = architecture.layers
    graph, fc1, fc2 = weights[:layers], weights[layers], weights[layers + 1]
    if architecture.bias:
        biases = weights[layers + 2:]
        return graph, fc1, fc2, biases[:layers], biases[layers], biases[layers + 1]
    return graph, fc1, fc2, [None] * layers, None, None


def _member_forward(architecture, nodes, propagation, pooling, masks, weights, saved):
    """One member's forward pass on (B, 7, 5) / (B, 2, 7, 7) / (B, 7); fills `saved` for backward."""
    graph, fc1, fc2, graph_biases, fc1_bias, fc2_bias = _split_weights(architecture, weights)
    batch, vertices = nodes.shape[0], nodes.shape[1]
    hidden = architecture.hidden
    large = large_mm(nodes.device)
    x = nodes
    mixing = propagation.reshape(batch * 2, vertices, vertices)
    for layer, (weight, bias) in enumerate(zip(graph, graph_biases)):
        # (B*7, 2H) = [X W_fwd | X W_bwd]; the first layer's input is only 5 wide
        u = (large if layer else torch.mm)(x.reshape(batch * vertices, -1), weight)
        if bias is not None:
            u = u + bias
        # (B*2, 7, H): direction d mixed by P_d
        u = u.view(batch, vertices, 2, hidden).transpose(1, 2).reshape(batch * 2, vertices, hidden)
        r = torch.bmm(mixing, u).relu_().view(batch, 2, vertices, hidden)
        x_next = torch.add(r[:, 0], r[:, 1])
        x_next = x_next.mul_(masks[layer]) if masks is not None else x_next.mul_(0.5)
        if saved is not None:
            saved.append((x, r))
        x = x_next
    pooled = torch.bmm(pooling, x).view(batch, -1)  # (B, P*H)
    h = mm(pooled, fc1)
    if fc1_bias is not None:
        h = h + fc1_bias
    h_active = None
    if architecture.readout_activation:
        h_active = h > 0
        h = h.clamp_min(0)
    if masks is not None:
        h = h * masks[-1]
    out = mm(h, fc2)
    if fc2_bias is not None:
        out = out + fc2_bias
    if saved is not None:
        saved.append((pooled, h, h_active))
    return out


def _member_backward(architecture, propagation, pooling, masks, weights, saved, grad_out):
    """Gradients of one member's weights, in the order of `weights`."""
    graph, fc1, fc2, graph_biases, fc1_bias, fc2_bias = _split_weights(architecture, weights)
    batch, _, vertices = pooling.shape
    large = large_mm(pooling.device)
    pooled, h, h_active = saved[-1]
    grad_fc2 = mm(h.t(), grad_out)
    grad_h = mm(grad_out, fc2.t()) * masks[-1]
    if h_active is not None:
        grad_h = grad_h * h_active
    grad_fc1 = mm(pooled.t(), grad_h)
    grad_pooled = mm(grad_h, fc1.t())
    grad_x = torch.bmm(pooling.transpose(1, 2), grad_pooled.view(batch, pooling.shape[1], -1))  # (B, 7, H)
    mixing_t = propagation.reshape(batch * 2, vertices, vertices).transpose(1, 2)
    grad_graph, grad_graph_bias = [None] * architecture.layers, [None] * architecture.layers
    for layer in reversed(range(architecture.layers)):
        x, r = saved[layer]
        grad_r = (grad_x * masks[layer]).unsqueeze(1).expand_as(r)
        grad_z = torch.ops.aten.threshold_backward(grad_r, r, 0).view(batch * 2, vertices, -1)  # relu'
        grad_u = torch.bmm(mixing_t, grad_z).view(batch, 2, vertices, -1).transpose(1, 2).reshape(batch * vertices, -1)
        grad_graph[layer] = (large if layer else torch.mm)(x.reshape(batch * vertices, -1).t(), grad_u)
        if graph_biases[layer] is not None:
            grad_graph_bias[layer] = grad_u.sum(0)
        if layer > 0:
            grad_x = large(grad_u, graph[layer].t()).view(batch, vertices, -1)
    grads = [*grad_graph, grad_fc1, grad_fc2]
    if architecture.bias:
        grads += [*grad_graph_bias, grad_h.sum(0), grad_out.sum(0)]
    return grads


class DropoutMasks:
    """Draws an epoch's dropout masks in one go, into buffers reused from epoch to epoch.

    Graph layers get 0 or 0.5/(1-p) (the 1/2 of the two directions' mean is folded in),
    the readout 0 or 1/(1-p). Each unit is dropped when 16 raw random bits from numpy's PCG64
    fall below round(p * 65536): p is kept to within 1/65536, at a third of the cost of
    drawing floats, and the masks are the same on every device. Reusing the buffers avoids
    fresh page-faulting allocations of a few MB every epoch.
    """

    def __init__(self, architecture: Architecture, steps: int, batch: int, rng: np.random.Generator,
                 device: torch.device | str = "cpu"):
        self.rng = rng
        self.threshold = np.uint16(min(round(architecture.dropout * 65536), 65535))
        p = architecture.dropout
        shapes = [(steps, *shape) for shape in architecture.dropout_shapes(batch)]
        self.sizes = [int(np.prod(shape)) for shape in shapes]
        self.scales = [np.float32(0.5 / (1 - p))] * architecture.layers + [np.float32(1 / (1 - p))]
        total = sum(self.sizes)
        self.words = -(-total // 4)  # 64-bit draws, four 16-bit numbers each
        self.keep = np.empty(total, dtype=bool)
        self.host = np.empty(total, dtype=np.float32)
        self.device = torch.device(device)
        flat = torch.from_numpy(self.host) if self.device.type == "cpu" else torch.empty(total, device=self.device)
        self.flat_host, self.flat = torch.from_numpy(self.host), flat
        offsets = np.cumsum([0, *self.sizes])
        self.masks = [flat[a:b].view(shape) for a, b, shape in zip(offsets[:-1], offsets[1:], shapes)]
        self.host_parts = [self.host[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
        self.keep_parts = [self.keep[a:b] for a, b in zip(offsets[:-1], offsets[1:])]

    def sample(self) -> list[torch.Tensor]:
        """New masks, written over the previous ones: use them before sampling again."""
        bits = self.rng.bit_generator.random_raw(self.words).view(np.uint16)[:len(self.keep)]
        np.greater_equal(bits, self.threshold, out=self.keep)
        for keep, host, scale in zip(self.keep_parts, self.host_parts, self.scales):
            np.multiply(keep, scale, out=host)
        if self.device.type != "cpu":
            self.flat.copy_(self.flat_host)
        return self.masks


@dataclass
class ForwardCache:
    """What the hand-written backward pass needs from one forward pass."""

    propagation: torch.Tensor
    pooling: torch.Tensor
    masks: list[torch.Tensor]
    weights: list[list[torch.Tensor]]  # per member
    saved: list[list]  # per member: per layer (input, relu output), then the readout's tensors


def _pick(tensor: torch.Tensor, member: int) -> torch.Tensor:
    """A member's slice of an input with a leading member axis (size 1 = shared by all members)."""
    return tensor[member if len(tensor) > 1 else 0]


class _FusedGCN(torch.autograd.Function):
    """The whole network as one autograd node (gradients flow to the weights only)."""

    @staticmethod
    def forward(ctx, network, training, nodes, propagation, pooling, masks, *weights):
        if not training:
            a = network.architecture
            outputs = [
                _member_forward(a, _pick(nodes, e), _pick(propagation, e), _pick(pooling, e), None,
                                [w[e] for w in weights], None)
                for e in range(a.members)
            ]
            return outputs[0].unsqueeze(0) if len(outputs) == 1 else torch.stack(outputs)
        outputs, ctx.cache = network.forward_with_cache(nodes, propagation, pooling, masks)
        ctx.network = network
        return outputs

    @staticmethod
    def backward(ctx, grad_outputs):
        grads = ctx.network.gradients(ctx.cache, grad_outputs)
        ctx.cache = None
        return (None, None, None, None, None, None, *grads)
