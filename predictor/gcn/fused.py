"""The directed GCN of Wen et al. (2019), hand-fused, for many ensemble members at once.

Per graph-convolution layer, as in the reference implementation (`predictor/reference_gcn.py`):
    X' = dropout( (relu(P_fwd X W_fwd) + relu(P_bwd X W_bwd)) / 2 )
with P_fwd = rownorm(A + I) and P_bwd = rownorm(P_fwd^T). Readout: mean over the real
vertices, fc1, dropout, fc2 (the reference puts no activation between fc1 and fc2).

Why hand-fused: training the paper's setting is 5,100 steps of batch 10, where framework
overhead weighs as much as arithmetic in a plain module. Here each layer is one matmul with
both directions' weights side by side ([W_fwd | W_bwd], so the backward pass gets dX in one
product too), one batched 7x7 mixing product and a few element-wise ops into buffers kept
from step to step (`MemberPass`), and the backward pass is written out by hand: training
calls `forward_members` and `backward_into` directly, without autograd; `forward` wraps the
same code as one autograd node for other callers.
Weights carry a leading member axis: an ensemble trains as one model, each member on its
own mini-batches.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from predictor.data.cell import MAX_VERTICES
from predictor.gcn.features import NUM_NODE_TYPES, GraphTensors
from predictor.gcn.gemm import matmul_for


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
        self.fc1_weight = nn.Parameter(_uniform((a.members, pooled, a.readout_hidden), pooled**-0.5, generator))
        self.fc2_weight = nn.Parameter(
            _uniform((a.members, a.readout_hidden, a.outputs), a.readout_hidden**-0.5, generator)
        )
        if a.bias:
            self.graph_biases = nn.ParameterList(
                nn.Parameter(torch.zeros(a.members, 2 * a.hidden)) for _ in range(a.layers)
            )
            self.fc1_bias = nn.Parameter(_uniform((a.members, a.readout_hidden), pooled**-0.5, generator))
            self.fc2_bias = nn.Parameter(_uniform((a.members, a.outputs), a.readout_hidden**-0.5, generator))
        else:
            self.graph_biases = nn.ParameterList()
            self.fc1_bias = self.fc2_bias = None
        self._pass_cache: dict[tuple[int, torch.device, bool], list[MemberPass]] = {}

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
        self,
        nodes: torch.Tensor,
        propagation: torch.Tensor,
        pooling: torch.Tensor,
        dropout_masks: list[torch.Tensor] | None,
        reuse_buffers: bool = True,
    ) -> tuple[torch.Tensor, list[MemberPass]]:
        """A forward pass without autograd (weights are used detached): outputs (E, B, outputs) and the
        member passes that `backward_into` continues from. With `reuse_buffers` the passes are the
        network's own, kept per batch size: their state lasts until the next forward at the same size."""
        batch, device, training = nodes.shape[1], nodes.device, dropout_masks is not None
        passes = self.passes(batch, device, training) if reuse_buffers else self._new_passes(batch, device, training)
        member_inputs = [
            (
                _pick(nodes, member),
                _pick(propagation, member),
                _pick(pooling, member),
                None if dropout_masks is None else [m[member] for m in dropout_masks],
            )
            for member in range(self.architecture.members)
        ]
        return self.forward_members(passes, member_inputs), passes

    def forward_members(self, passes: list[MemberPass], member_inputs: list[tuple]) -> torch.Tensor:
        """Outputs (E, B, outputs) of each member's pass on its own (nodes, propagation, pooling, masks)."""
        weights = self.member_weights()
        outputs = [
            member_pass.forward(*inputs, weights[member])
            for member, (member_pass, inputs) in enumerate(zip(passes, member_inputs))
        ]
        return outputs[0].unsqueeze(0) if len(outputs) == 1 else torch.stack(outputs)

    def _new_passes(self, batch: int, device: torch.device, training: bool) -> list[MemberPass]:
        return [MemberPass(self.architecture, batch, device, training) for _ in range(self.architecture.members)]

    def passes(self, batch: int, device: torch.device, training: bool) -> list[MemberPass]:
        """The network's own passes for a batch size (a few sizes kept: training's and prediction's)."""
        key = (batch, device, training)
        if key not in self._pass_cache:
            if len(self._pass_cache) >= 4:
                self._pass_cache.pop(next(iter(self._pass_cache)))
            self._pass_cache[key] = self._new_passes(batch, device, training)
        return self._pass_cache[key]

    def member_weights(self) -> list[list[torch.Tensor]]:
        """Per member, its weights (detached views, in `flat_parameters` order); cached while storage is unchanged."""
        # moving or re-packing the weights (.to(), FlatAdam) changes the storage of the first and last
        key = (self.graph_weights[0].data_ptr(), self.fc2_weight.data_ptr(), self.fc2_weight.device)
        if getattr(self, "_member_weights_key", None) != key:
            detached = [p.detach() for p in self.flat_parameters()]
            self._member_weights = [[w[e] for w in detached] for e in range(self.architecture.members)]
            self._member_weights_key = key
        return self._member_weights

    def backward_into(
        self, passes: list[MemberPass], grad_outputs: torch.Tensor, gradients: list[torch.Tensor]
    ) -> None:
        """Write the gradients of the weights into `gradients` (shaped like `flat_parameters`, e.g. their
        `.grad`), given d loss / d outputs (E, B, outputs) for the forward pass that gave `passes`."""
        for member, member_pass in enumerate(passes):
            member_pass.backward(grad_outputs[member], [g[member] for g in gradients])

    def gradients(self, passes: list[MemberPass], grad_outputs: torch.Tensor) -> list[torch.Tensor]:
        """Gradients of the weights (order of `flat_parameters`) as new tensors."""
        gradients = [torch.empty_like(p) for p in self.flat_parameters()]
        self.backward_into(passes, grad_outputs, gradients)
        return gradients

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
        for start in range(0, len(graphs), batch_size):
            part = graphs.select(slice(start, start + batch_size))
            outputs, _ = self.forward_with_cache(
                part.nodes[None],
                part.propagation[None],
                part.pooling[None],
                None,
                reuse_buffers=len(part) == batch_size,
            )
            out[:, start : start + len(part)] = outputs
        return out


def _split_weights(architecture: Architecture, weights: list[torch.Tensor]):
    layers = architecture.layers
    graph, fc1, fc2 = weights[:layers], weights[layers], weights[layers + 1]
    if architecture.bias:
        biases = weights[layers + 2 :]
        return graph, fc1, fc2, biases[:layers], biases[layers], biases[layers + 1]
    return graph, fc1, fc2, [None] * layers, None, None


class MemberPass:
    """One member's forward pass and hand-written backward pass at one batch size, in buffers kept between calls.

    Training mixes both directions with one batched product: the propagation matrices (B, 2, 7, 7),
    read as (B, 14, 7) = [P_fwd; P_bwd], times U = [X W_fwd | X W_bwd] (B, 7, 2H) give a 2 x 2
    block matrix whose diagonal blocks are P_fwd X W_fwd and P_bwd X W_bwd. The off-diagonal
    blocks are wasted but cheap arithmetic at training's small batches; in exchange nothing is
    transposed or copied, and the gradient buffer's off-diagonal blocks simply stay zero; the first
    layer mixes its 5-wide input before the weight product, (P X) W. Forward-only passes (prediction,
    large batches) mix each direction apart instead, without the waste. Buffers, their views and
    the kind of each matrix product are set up once, so a training step is a few dozen kernel calls.
    What `forward` saves for `backward` lives until the next `forward`.
    """

    def __init__(self, architecture: Architecture, batch: int, device: torch.device, training: bool):
        a, v = architecture, MAX_VERTICES
        self.architecture, self.batch, self.training = a, batch, training
        self.graph_mm = matmul_for(batch * v * a.hidden * 2 * a.hidden, device)
        self.readout_mm = matmul_for(batch * a.pooled_vectors * a.hidden * a.readout_hidden, device)
        self.layer_outputs = [torch.empty(batch, v, a.hidden, device=device) for _ in range(a.layers)]
        if training:
            self.mixed = [torch.empty(batch, 2 * v, 2 * a.hidden, device=device) for _ in range(a.layers)]
            blocks = [m.view(batch, 2, v, 2, a.hidden) for m in self.mixed]
            self.along, self.against = [b[:, 0, :, 0] for b in blocks], [b[:, 1, :, 1] for b in blocks]
            self.mixed_diagonal = [torch.diagonal(b, dim1=1, dim2=3) for b in blocks]  # (B, 7, H, 2)
            self.grad_mixed = [torch.zeros_like(m) for m in self.mixed]
            self.grad_mixed_diagonal = [
                torch.diagonal(g.view(batch, 2, v, 2, a.hidden), dim1=1, dim2=3) for g in self.grad_mixed
            ]
        else:  # forward only: each direction is mixed into a buffer of its own
            self.along = [torch.empty(batch, v, a.hidden, device=device) for _ in range(a.layers)]
            self.against = [torch.empty(batch, v, a.hidden, device=device) for _ in range(a.layers)]
        self.saved = None

    def forward(self, nodes, propagation, pooling, masks, weights) -> torch.Tensor:
        """(B, 7, 5) / (B, 2, 7, 7) / (B, P, 7) -> (B, outputs); masks None = evaluation mode."""
        a, batch, v = self.architecture, self.batch, MAX_VERTICES
        graph, fc1, fc2, graph_biases, fc1_bias, fc2_bias = _split_weights(a, weights)
        stacked = propagation.reshape(batch, 2 * v, v)
        mixed_nodes = torch.bmm(stacked, nodes).view(batch * 2 * v, -1) if self.training else None  # (B*14, 5)
        x = nodes
        for layer, (weight, bias) in enumerate(zip(graph, graph_biases)):
            if self.training and layer == 0:  # (P X) W: the input is only 5 wide
                mixed = torch.mm(mixed_nodes, weight, out=self.mixed[0].view(batch * 2 * v, -1))
                if bias is not None:
                    mixed.add_(bias)  # rows of P sum to 1, so P (U + b) = P U + b
                mixed.relu_()
            else:
                u = (self.graph_mm if layer else torch.mm)(x.reshape(batch * v, -1), weight)
                if bias is not None:
                    u.add_(bias)
                if self.training:
                    torch.bmm(stacked, u.view(batch, v, -1), out=self.mixed[layer]).relu_()
                else:
                    u = u.view(batch, v, 2, -1)
                    torch.bmm(propagation[:, 0], u[:, :, 0], out=self.along[layer]).relu_()
                    torch.bmm(propagation[:, 1], u[:, :, 1], out=self.against[layer]).relu_()
            x = torch.add(self.along[layer], self.against[layer], out=self.layer_outputs[layer])
            x.mul_(masks[layer]) if masks is not None else x.mul_(0.5)
        pooled = torch.bmm(pooling, x).view(batch, -1)  # (B, P*H)
        h = self.readout_mm(pooled, fc1)
        if fc1_bias is not None:
            h.add_(fc1_bias)
        h_active = None
        if a.readout_activation:
            h_active = h > 0
            h.clamp_min_(0)
        if masks is not None:
            h.mul_(masks[-1])
        out = torch.mm(h, fc2)
        if fc2_bias is not None:
            out.add_(fc2_bias)
        if self.training:
            self.saved = (mixed_nodes, stacked, pooling, masks, weights, pooled, h, h_active)
        return out

    def backward(self, grad_out: torch.Tensor, into: list[torch.Tensor]) -> None:
        """Write the gradients of the weights (in the order `forward` took them) into `into`, given
        d loss / d outputs (B, outputs)."""
        a, batch, v = self.architecture, self.batch, MAX_VERTICES
        mixed_nodes, stacked, pooling, masks, weights, pooled, h, h_active = self.saved
        graph, fc1, fc2, graph_biases, _, _ = _split_weights(a, weights)
        grad_graph, grad_fc1, grad_fc2, grad_graph_biases, grad_fc1_bias, grad_fc2_bias = _split_weights(a, into)
        torch.mm(h.t(), grad_out, out=grad_fc2)
        grad_h = torch.mm(grad_out, fc2.t()).mul_(masks[-1])
        if h_active is not None:
            grad_h.mul_(h_active)
        grad_fc1.copy_(self.readout_mm(pooled.t(), grad_h))
        grad_pooled = self.readout_mm(grad_h, fc1.t())
        grad_x = torch.bmm(pooling.transpose(1, 2), grad_pooled.view(batch, pooling.shape[1], -1))  # (B, 7, H)
        stacked_t = stacked.transpose(1, 2)
        for layer in reversed(range(a.layers)):
            grad_x.mul_(masks[layer])
            torch.ops.aten.threshold_backward.grad_input(  # relu', into the diagonal blocks
                grad_x.unsqueeze(-1).expand_as(self.mixed_diagonal[layer]),
                self.mixed_diagonal[layer],
                0,
                grad_input=self.grad_mixed_diagonal[layer],
            )
            grad_mixed = self.grad_mixed[layer].view(batch * 2 * v, -1)  # (B*14, 2H)
            if graph_biases[layer] is not None:
                torch.sum(grad_mixed, 0, out=grad_graph_biases[layer])
            if layer == 0:
                torch.mm(mixed_nodes.t(), grad_mixed, out=grad_graph[0])
                break
            grad_u = torch.bmm(stacked_t, self.grad_mixed[layer]).view(batch * v, -1)  # (B*7, 2H)
            grad_graph[layer].copy_(self.graph_mm(self.layer_outputs[layer - 1].view(batch * v, -1).t(), grad_u))
            grad_x = self.graph_mm(grad_u, graph[layer].t()).view(batch, v, -1)
        if a.bias:
            torch.sum(grad_h, 0, out=grad_fc1_bias)
            torch.sum(grad_out, 0, out=grad_fc2_bias)


class DropoutMasks:
    """Draws an epoch's dropout masks in one go, into buffers reused from epoch to epoch.

    Graph layers get 0 or 0.5/(1-p) (the 1/2 of the two directions' mean is folded in),
    the readout 0 or 1/(1-p). Each unit is dropped when 16 raw random bits from numpy's PCG64
    fall below round(p * 65536): p is kept to within 1/65536, at a third of the cost of
    drawing floats, and the masks are the same on every device. Reusing the buffers avoids
    fresh page-faulting allocations of a few MB every epoch.
    """

    def __init__(
        self,
        architecture: Architecture,
        steps: int,
        batch: int,
        rng: np.random.Generator,
        device: torch.device | str = "cpu",
    ):
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
        bits = self.rng.bit_generator.random_raw(self.words).view(np.uint16)[: len(self.keep)]
        np.greater_equal(bits, self.threshold, out=self.keep)
        for keep, host, scale in zip(self.keep_parts, self.host_parts, self.scales):
            np.multiply(keep, scale, out=host)
        if self.device.type != "cpu":
            self.flat.copy_(self.flat_host)
        return self.masks


def _pick(tensor: torch.Tensor, member: int) -> torch.Tensor:
    """A member's slice of an input with a leading member axis (size 1 = shared by all members)."""
    return tensor[member if len(tensor) > 1 else 0]


class _FusedGCN(torch.autograd.Function):
    """The whole network as one autograd node (gradients flow to the weights only)."""

    @staticmethod
    def forward(ctx, network, training, nodes, propagation, pooling, masks, *weights):
        # fresh buffers: several forward passes may be taken before their backward passes
        outputs, passes = network.forward_with_cache(
            nodes, propagation, pooling, masks if training else None, reuse_buffers=False
        )
        if training:
            ctx.network, ctx.passes = network, passes
        return outputs

    @staticmethod
    def backward(ctx, grad_outputs):
        grads = ctx.network.gradients(ctx.passes, grad_outputs)
        ctx.passes = None
        return (None, None, None, None, None, None, *grads)
