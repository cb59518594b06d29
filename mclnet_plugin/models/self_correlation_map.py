"""Self-correlation map (paper §3.3, Eq. 2)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS


@MODELS.register_module()
class SelfCorrelationMap(nn.Module):
    """``FC(SCM_i)`` with ``SCM_i = x_iᵀ·X`` for every position i (Eq. 2).

    Each position's correlation with all N positions of the same feature map
    (a length-N vector describing the scene structure around it) is reduced
    to ``out_channels`` by one fully-connected layer ``fc`` (N → 256 in the
    paper), giving a map that is concatenated to the features before the
    cosine matching.

    The N×N self-correlation is never formed: ``FC(x_iᵀX) = x_iᵀ(X·Wᵀ) + b``,
    so ``X·Wᵀ`` (C × out_channels) is computed first. This is exact and costs
    O(N·C·out) time and O(N·C) memory instead of O(N²·out) and O(N²).

    Args:
        num_positions: N = H·W of the input features (4096 for 64×64).
        out_channels: width of the FC output (256 in the paper).
        normalize: L2-normalise features over channels first, so SCM entries
            are cosine similarities.
        impl: 'factored' (above) or 'materialized': the N×N self-correlation
            formed, then ``fc`` (the paper's formula, for benchmarks and
            tests).
    """

    def __init__(self,
                 num_positions: int = 4096,
                 out_channels: int = 256,
                 normalize: bool = True,
                 impl: str = 'factored') -> None:
        super().__init__()
        if impl not in ('factored', 'materialized'):
            raise ValueError("SelfCorrelationMap: impl must be 'factored' or "
                             f"'materialized', got {impl!r}")
        self.impl = impl
        self.num_positions = num_positions
        self.out_channels = out_channels
        self.normalize = normalize
        self.fc = nn.Linear(num_positions, out_channels)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) features -> (B, out_channels, H, W) SCM features."""
        if feat.dim() != 4:
            raise ValueError('SelfCorrelationMap expects (B, C, H, W) '
                             f'features, got shape {tuple(feat.shape)}')
        batch, _, height, width = feat.shape
        if height * width != self.num_positions:
            raise ValueError(
                f'SelfCorrelationMap was built for num_positions='
                f'{self.num_positions}, but the features are {height}×{width}'
                f' = {height * width} positions; set num_positions to H·W')
        positions = feat.flatten(2)  # (B, C, N)
        if self.normalize:
            positions = F.normalize(positions, dim=1)
        if self.impl == 'materialized':
            # (B, N, C) @ (B, C, N): SCM_i = x_iᵀX for every i
            scm_feat = self.fc(torch.bmm(positions.transpose(1, 2), positions))
        else:
            projected = torch.matmul(positions,
                                     self.fc.weight.t())  # (B, C, out)
            # (B, N, C) @ (B, C, out) -> (B, N, out)
            scm_feat = torch.bmm(positions.transpose(1, 2), projected)
            scm_feat = scm_feat + self.fc.bias
        return scm_feat.transpose(1, 2).reshape(batch, self.out_channels,
                                                height, width)
