"""tools/publish_model.py on a checkpoint of a real (tiny, EMA) training
run: weights only, named by hash, and testing/translating as the full
checkpoint does."""
import hashlib
import os
import re
import stat

import cv2
import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from mclnet_plugin.apis import MCLNetInferencer
from mclnet_plugin.models.mclnet import VGG_LOSSES
from tests.dataset_fixtures import photo, save_rgb
from tests.tiny_configs import tiny_demo_config
from tests.tool_modules import load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('publish_model.py')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(config file, checkpoint) of 2 iterations with EMA; the test set is
    the demo's 2 held-out photos, scored by output PSNR only."""
    work = tmp_path_factory.mktemp('publish')
    cfg = tiny_demo_config(work / 'train', max_iters=2)
    # a large momentum, so the EMA generator differs from the online one
    cfg.model.ema_config = dict(momentum=0.5)
    cfg.custom_hooks = []
    # VGG19 (a 550 MB file) is not what this is about
    cfg.model.vgg = None
    cfg.model.losses.update(dict.fromkeys(VGG_LOSSES))
    cfg.test_evaluator = dict(
        type='mmengine.Evaluator',
        metrics=[
            dict(type='TranslationPSNR', pred_key='fake_img', prefix='out')
        ])
    Runner.from_cfg(cfg).train()
    config = str(work / 'tiny_demo_ema.py')
    cfg.dump(config)
    return config, str(work / 'train' / 'iter_2.pth')


def test_publishes_the_ema_generator_by_default(tool, trained, tmp_path,
                                                capsys):
    checkpoint = trained[1]
    path = tool.main([checkpoint, str(tmp_path / 'out' / 'tiny.pth')])

    name = re.fullmatch(r'tiny-([0-9a-f]{8})\.pth', os.path.basename(path))
    assert name, path
    with open(path, 'rb') as file:
        assert hashlib.sha256(file.read()).hexdigest()[:8] == name.group(1)
    assert os.listdir(tmp_path / 'out') == [os.path.basename(path)]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask

    published = torch.load(path, weights_only=True)
    full = torch.load(checkpoint, weights_only=False)
    assert set(published) == {'meta', 'state_dict'}
    assert {'optimizer', 'message_hub'} <= set(full)
    weights = published['state_dict']
    assert {key.split('.')[0] for key in weights} == {'generator_ema'}
    assert set(weights) == {
        key
        for key in full['state_dict'] if key.startswith('generator_ema.')
    }
    for key, value in weights.items():
        assert torch.equal(value, full['state_dict'][key]), key
    name = 'correspondence.cond_encoder.layers.0.conv.weight'
    assert not torch.equal(weights[f'generator_ema.module.{name}'],
                           full['state_dict'][f'generator.{name}'])
    assert published['meta']['iter'] == 2
    assert published['meta']['cfg'] == full['meta']['cfg']
    assert published['meta']['published'] == dict(
        source='iter_2.pth', kept=['generator_ema'])

    printed = capsys.readouterr().out
    assert 'kept  generator_ema' in printed
    assert 'dropped discriminator, generator, message_hub, optimizer' in (
        printed)
    assert re.search(rf'wrote {re.escape(path)} \([\d.]+ MB, \d+% ', printed)
    assert os.path.getsize(path) < os.path.getsize(checkpoint) / 2


def test_published_file_tests_and_translates_as_the_full_one(
        tool, trained, tmp_path):
    config, checkpoint = trained
    published = tool.main([checkpoint, str(tmp_path / 'tiny')])
    test_tool = load_tool('test.py')
    outputs = {}
    for kind, path in (('full', checkpoint), ('published', published)):
        work_dir = tmp_path / kind
        metrics = test_tool.main([
            config, path, '--work-dir',
            str(work_dir), '--save-outputs',
            str(work_dir / 'out')
        ])
        images = {
            name: cv2.imread(str(work_dir / 'out' / name))
            for name in sorted(os.listdir(work_dir / 'out'))
        }
        outputs[kind] = metrics, images
    assert outputs['published'][0] == outputs['full'][0]
    assert list(outputs['published'][1]) == list(outputs['full'][1])
    for name, image in outputs['full'][1].items():
        np.testing.assert_array_equal(outputs['published'][1][name], image)

    save_rgb(str(tmp_path / 'photo.jpg'), photo(0))
    save_rgb(str(tmp_path / 'exemplar.png'), photo(3, (40, 80)))
    results = [
        MCLNetInferencer(config, path)(None, str(tmp_path / 'exemplar.png'),
                                       str(tmp_path / 'photo.jpg'))
        for path in (checkpoint, published)
    ]
    for key in ('fake_img', 'warped_exemplar'):
        np.testing.assert_array_equal(results[1][key], results[0][key])


def test_keep_online_and_both(tool, trained, tmp_path):
    config, checkpoint = trained
    full = torch.load(checkpoint, weights_only=False)['state_dict']
    online = tool.main([checkpoint, str(tmp_path), '--keep', 'online'])
    assert re.fullmatch(r'iter_2-[0-9a-f]{8}\.pth', os.path.basename(online))
    weights = torch.load(online, weights_only=True)['state_dict']
    assert set(weights) == {k for k in full if k.startswith('generator.')}
    # the EMA generator, which translates, gets the file's (online) weights
    model = MCLNetInferencer(config, online).model
    for module in (model.generator, model.generator_ema.module):
        for key, value in module.state_dict().items():
            assert torch.equal(value, full[f'generator.{key}']), key

    both = tool.main([checkpoint, str(tmp_path / 'both'), '--keep', 'both'])
    weights = torch.load(both, weights_only=True)['state_dict']
    assert {key.split('.')[0]
            for key in weights} == {'generator', 'generator_ema'}
    assert MCLNetInferencer(config, both).model.generator_ema is not None


def test_meta_that_only_pickle_reads_is_left_out(tool, tmp_path):
    source = tmp_path / 'bare.pth'
    torch.save(
        dict(
            state_dict={
                'module.generator.weight': torch.ones(2),
                'discriminator.weight': torch.ones(3)
            },
            meta=dict(iter=7, seed=np.int64(3), note=('a', 1)),
            optimizer=dict(state={})), source)
    path = tool.main([str(source), str(tmp_path / 'bare')])
    published = torch.load(path, weights_only=True)
    assert list(published['state_dict']) == ['generator.weight']
    assert published['meta'] == dict(
        iter=7,
        note=('a', 1),
        published=dict(source='bare.pth', kept=['generator']))


def test_errors_name_the_file(tool, tmp_path):
    out = str(tmp_path / 'out')
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(SystemExit, match=f'checkpoint {missing} not found'):
        tool.main([missing, out])
    garbage = tmp_path / 'garbage.pth'
    garbage.write_text('not a checkpoint')
    with pytest.raises(
            SystemExit, match=f'{garbage} is not a readable PyTorch'):
        tool.main([str(garbage), out])
    bare = tmp_path / 'bare.pth'
    torch.save({'generator.weight': torch.ones(1)}, bare)
    with pytest.raises(SystemExit, match=f'{bare} has no state_dict'):
        tool.main([str(bare), out])
    no_ema = tmp_path / 'no_ema.pth'
    torch.save(dict(state_dict={'generator.weight': torch.ones(1)}), no_ema)
    with pytest.raises(
            SystemExit,
            match=f'{no_ema} has no generator_ema weights .*--keep online'):
        tool.main([str(no_ema), out, '--keep', 'ema'])
    assert sorted(
        os.listdir(tmp_path)) == ['bare.pth', 'garbage.pth', 'no_ema.pth']
