import pytest
import torch
from mmagic.models.editors.biggan.biggan_modules import SelfAttentionBlock

from mclnet_plugin.models import chunked_attention
from mclnet_plugin.models.chunked_attention import ChunkedSelfAttentionBlock


@pytest.mark.parametrize('chunk', [16, 1024])
def test_same_output_and_gradients_as_mmagic_block(monkeypatch, chunk):
    monkeypatch.setattr(chunked_attention, 'CHUNK_QUERIES', chunk)
    torch.manual_seed(0)
    kwargs = dict(with_spectral_norm=True, sn_eps=1e-12, sn_style='torch')
    reference = SelfAttentionBlock(16, **kwargs).double()
    chunked = ChunkedSelfAttentionBlock(16, **kwargs).double()
    with torch.no_grad():
        reference.gamma.fill_(0.7)  # 0 at init would hide the attention
    chunked.load_state_dict(reference.state_dict())
    x = torch.randn(2, 16, 12, 8, dtype=torch.float64, requires_grad=True)
    results = []
    for block in (reference, chunked):
        out = block(x)
        upstream = torch.linspace(-1, 1, out.numel(), dtype=out.dtype)
        grads = torch.autograd.grad((out.flatten() * upstream).sum(),
                                    [x, *block.parameters()])
        results.append((out, grads))
    (ref_out, ref_grads), (out, grads) = results
    torch.testing.assert_close(out, ref_out)
    assert len(grads) == len(ref_grads)
    for grad, ref_grad in zip(grads, ref_grads):
        torch.testing.assert_close(grad, ref_grad)
    # one power iteration per forward, as the reference (u updated alike)
    torch.testing.assert_close(chunked.state_dict(), reference.state_dict())
