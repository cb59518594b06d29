"""BigGAN's self-attention with its attention matrix held a chunk at a time."""
import torch
import torch.nn.functional as F
from mmagic.models.editors.biggan.biggan_modules import SelfAttentionBlock

from .correspondence import map_in_chunks

# Queries per chunk: at 128×128 (the generator's attention in the 256×256
# configs) the keys are 64×64 after pooling, so a chunk's attention is
# 1024 × 4096 values (16 MiB in fp32) instead of 16384 × 4096 (256 MiB).
CHUNK_QUERIES = 1024


def _attend(query: torch.Tensor, key: torch.Tensor,
            value: torch.Tensor) -> torch.Tensor:
    # (B, n, C/8) @ (B, C/8, M) -> (B, n, M) -> (B, n, C/2)
    return torch.bmm(torch.bmm(query, key).softmax(dim=-1), value)


class ChunkedSelfAttentionBlock(SelfAttentionBlock):
    """MMagic's ``SelfAttentionBlock`` (same parameters, same state dict,
    same output) whose N × N/4 attention matrix is computed for
    ``CHUNK_QUERIES`` queries at a time and, in training, recomputed in
    backward instead of stored: at 128×128 the matrix and its softmax are
    256 MiB each per sample. The 1×1 convs (spectral-normed) run once, outside
    the recomputed part, so their power iterations are not repeated."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        positions = height * width
        query = self.theta(x).view(batch, self.in_channels // 8, positions)
        key = F.max_pool2d(self.phi(x), [2, 2]).view(batch,
                                                     self.in_channels // 8,
                                                     positions // 4)
        value = F.max_pool2d(self.g(x), [2, 2]).view(batch,
                                                     self.in_channels // 2,
                                                     positions // 4)
        attended = map_in_chunks(
            _attend,
            rows=(query.transpose(1, 2), ),
            shared=(key, value.transpose(1, 2)),
            chunk_size=CHUNK_QUERIES)  # (B, N, C/2)
        out = self.o(
            attended.transpose(1, 2).reshape(batch, self.in_channels // 2,
                                             height, width))
        return self.gamma * out + x
