"""The plugin as a user meets it: through MMagic's registries and configs."""
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mclnet_plugin import compat

REPO = Path(__file__).resolve().parents[1]


def test_plain_mmagic_config_builds_the_loss(tmp_path):
    """A fresh interpreter: only the config's custom_imports loads us."""
    config = tmp_path / 'mcl_cfg.py'
    config.write_text(
        textwrap.dedent("""
            default_scope = 'mmagic'
            custom_imports = dict(
                imports=['mclnet_plugin'], allow_failed_imports=False)
            mcl_loss = dict(type='MarginalContrastiveLoss', margin=0.25,
                            loss_weight=0.01)
            """))
    script = textwrap.dedent(f"""
        import torch
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        from mmagic.registry import MODELS
        cfg = Config.fromfile({str(config)!r})
        init_default_scope(cfg.default_scope)
        loss = MODELS.build(cfg.mcl_loss)
        # position p holds e_p in cond and e_(p+1 mod 4) in gt
        cond = torch.eye(4).reshape(1, 4, 2, 2)
        gt = torch.eye(4).roll(1, dims=0).reshape(1, 4, 2, 2)
        value = loss(cond, gt)
        print(type(loss).__name__, loss.margin, round(value.item(), 5))
        """)
    result = subprocess.run([sys.executable, '-c', script],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # cos θ_ii = 0 so the positive logit is s·cos(π/2 + m) = −s·sin m; one
    # negative has cos 1, two have cos 0. Both directions are alike.
    s, m = 20.0, 0.25
    direction = math.log(
        math.exp(-s * math.sin(m)) + math.exp(s) + 2) + s * math.sin(m)
    expected = round(0.01 * 2 * direction, 5)
    assert result.stdout.split() == [
        'MarginalContrastiveLoss', '0.25', f'{expected}'
    ]


@pytest.mark.parametrize('name', [
    'MarginalContrastiveLoss', 'SelfCorrelationMap', 'CorrespondenceEncoder',
    'CorrespondenceNet'
])
def test_components_are_registered_in_mmagic(name):
    from mmagic.registry import MODELS
    assert MODELS.get(name) is not None


def test_mmagic_models_import_with_mmcv_lite():
    import mmagic.models  # noqa: F401  (imports mmcv.ops in several editors)
    if not compat.mmcv_ops_are_stubbed():
        pytest.skip('the compiled mmcv is installed; nothing is stubbed')
    import mmcv._ext
    with pytest.raises(NotImplementedError, match='nms.*MCLNET_MMCV=full'):
        mmcv._ext.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)


def test_config_loads_with_mmagic_base():
    cfg = Config.fromfile(REPO / 'configs/_base_/default_runtime.py')
    assert cfg.default_scope == 'mmagic'
    assert cfg.custom_imports['imports'] == ['mclnet_plugin']
