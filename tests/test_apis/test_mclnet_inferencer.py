import re

import cv2
import numpy as np
import pytest
import torch

from mclnet_plugin.apis import MCLNetInferencer
from mclnet_plugin.apis.inference_inputs import (FitExemplar, face_part_paths,
                                                 fit_image, inference_pipeline,
                                                 transform_name)
from mclnet_plugin.datasets.keypoint_files import read_keypoint_json
from tests.dataset_fixtures import (make_ade20k, make_celebahq,
                                    make_deepfashion, photo, save_rgb)
from tests.test_apis import save_checkpoint, tiny_config
from tests.tiny_configs import SIZE


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    return tmp_path_factory.mktemp('inferencer')


@pytest.fixture(scope='module')
def images(work):
    """A photo and an exemplar of another size and aspect ratio."""
    paths = dict(
        photo=str(work / 'photo.png'), exemplar=str(work / 'exemplar.jpg'))
    save_rgb(paths['photo'], photo(0, (48, 64)))
    save_rgb(paths['exemplar'], photo(4, (40, 80)))
    return paths


def tiny_setup(work, name, **changes):
    """(config, checkpoint path) of a tiny config, optionally changed."""
    cfg = tiny_config(name, work / 'work_dir')
    for key, value in changes.items():
        cfg.merge_from_dict({key: value})
    return cfg, save_checkpoint(cfg, work / f'{name}_{len(changes)}.pth')


@pytest.fixture(scope='module')
def demo(work):
    return MCLNetInferencer(*tiny_setup(work, 'demo'))


@pytest.fixture(scope='module')
def ade(work):
    """(inferencer, dataset root) for ADE20K label maps (48×64)."""
    root = work / 'ade'
    make_ade20k(str(root))
    return MCLNetInferencer(*tiny_setup(work, 'ade20k')), root


def label_path(root, name='ADE_val_00000001'):
    return str(root / 'annotations' / 'validation' / f'{name}.png')


def exemplar_path(root, name='ADE_train_00000001'):
    return str(root / 'images' / 'training' / f'{name}.jpg')


def read_rgb(path):
    return cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)


def test_demo_translates_a_photo_with_a_new_exemplar(demo, images):
    result = demo(None, images['exemplar'], photo=images['photo'])
    for key in ('fake_img', 'warped_exemplar', 'exemplar', 'cond_vis',
                'photo'):
        assert result[key].shape == (SIZE, SIZE, 3)
        assert result[key].dtype == np.uint8
    # the condition is the Canny map of the photo as the model saw it
    edges = cv2.Canny(
        cv2.GaussianBlur(
            cv2.cvtColor(result['photo'], cv2.COLOR_RGB2GRAY), (3, 3), 0), 60,
        140)
    np.testing.assert_array_equal(result['cond_vis'][..., 0], edges)
    # the user's exemplar, centre-cropped to the photo's aspect, in RGB
    np.testing.assert_array_equal(
        result['exemplar'],
        fit_image(read_rgb(images['exemplar']), (SIZE, SIZE)))
    assert set(result['psnr']) == {'output', 'warped'}
    sample = result['data_sample']
    assert sample.query_id == 'photo.png'
    assert sample.exemplar_path == images['exemplar']
    again = demo(None, images['exemplar'], photo=images['photo'])
    for key in ('fake_img', 'warped_exemplar'):
        np.testing.assert_array_equal(again[key], result[key])


def test_grid_is_condition_exemplar_warped_output_photo(demo, images):
    result = demo(None, images['exemplar'], photo=images['photo'])
    grid = demo.visualize(result)
    assert grid.shape == (SIZE, 5 * SIZE, 3)
    np.testing.assert_array_equal(grid[:, 3 * SIZE:4 * SIZE],
                                  result['fake_img'])


def test_fit_image_crops_the_centre_to_the_aspect_ratio():
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, 20:60] = 255  # the centred square
    np.testing.assert_array_equal(fit_image(image, (10, 10)), 255)
    assert fit_image(image, (20, 30)).shape == (20, 30, 3)


def step_name(step):
    """A transform's type, or the name of a callable put in."""
    if isinstance(step, dict):
        return transform_name(step)
    return getattr(step, '__name__', type(step).__name__)


def test_pipeline_adaptation(demo, ade):
    demo_steps = inference_pipeline(
        demo.cfg.test_dataloader.dataset.pipeline, with_photo=True)
    # the exemplar was the photo's PseudoExemplar: the user's is loaded
    assert [step_name(step) for step in demo_steps] == [
        'LoadCheckedImage', 'CenterCropLongEdge', 'Resize', 'CannyEdges',
        'FitExemplar', 'PackInputs'
    ]
    assert isinstance(demo_steps[4], FitExemplar)
    assert {'query_id', 'exemplar_path'} <= set(demo_steps[-1]['meta_keys'])
    ade_steps = inference_pipeline(
        ade[0].cfg.test_dataloader.dataset.pipeline, with_photo=False)
    # no photo loading, no ChooseExemplar; the blank photo is not packed
    assert [step_name(step) for step in ade_steps] == [
        'LoadLabelMap', 'LoadCheckedImage', 'Resize', 'Resize',
        'drop_blank_photo', 'PackInputs'
    ]


def test_label_map_without_photo_takes_the_label_map_size(ade):
    inferencer, root = ade
    result = inferencer(label_path(root), exemplar_path(root))
    assert result['fake_img'].shape == (SIZE, SIZE, 3)
    assert 'photo' not in result and 'psnr' not in result
    sample = result['data_sample']
    assert 'gt_img' not in sample
    assert sample.cond.shape == (151, SIZE, SIZE)  # one-hot on the device
    assert sample.ori_gt_shape == (48, 64, 3)
    assert sample.cond_path == label_path(root)


def test_label_map_with_its_photo_compares_with_it(ade):
    inferencer, root = ade
    photo_path = str(root / 'images' / 'validation' / 'ADE_val_00000001.jpg')
    result = inferencer(label_path(root), exemplar_path(root), photo_path)
    np.testing.assert_array_equal(
        result['photo'],
        cv2.resize(
            read_rgb(photo_path), (SIZE, SIZE),
            interpolation=cv2.INTER_LINEAR))
    assert result['psnr']['output'] > 0
    # the photo does not change the translation of a label map
    blank = inferencer(label_path(root), exemplar_path(root))
    np.testing.assert_array_equal(blank['fake_img'], result['fake_img'])


@pytest.fixture(scope='module')
def pose(work):
    root = work / 'deepfashion'
    root.mkdir()
    make_deepfashion(str(root))
    return MCLNetInferencer(*tiny_setup(work, 'deepfashion')), root


def test_pose_conditions_from_files_and_from_an_estimator(pose, work):
    inferencer, root = pose
    stem = 'MEN/Tees/id_00000003/01_1_front'
    keypoint_file = str(root / 'keypoints' / (stem + '.json'))
    photo_path = str(root / 'img' / (stem + '.jpg'))
    exemplar = str(root / 'img' / 'MEN/Tees/id_00000003/01_2_side.jpg')
    from_file = inferencer(keypoint_file, exemplar, photo_path)
    assert from_file['data_sample'].cond.shape == (20, SIZE, SIZE)
    np.testing.assert_array_equal(  # the skeleton, channels 0-2
        from_file['cond_vis'],
        from_file['data_sample'].cond[:3].mul(255).round().byte().permute(
            1, 2, 0).numpy())
    # the JSON records its image size: no photo needed
    assert inferencer(keypoint_file,
                      exemplar)['fake_img'].shape == (SIZE, SIZE, 3)

    # an estimator finding the keypoints of that file, and a worse person
    def estimator(path):
        assert path == photo_path
        keypoints, scores, image_shape, _ = read_keypoint_json(keypoint_file)
        return (np.stack([keypoints[::-1],
                          keypoints]), np.stack([scores / 2,
                                                 scores]), image_shape)

    def finds_nobody(path):
        return np.zeros((0, 17, 2)), np.zeros((0, 17)), (64, 44)

    try:
        inferencer.pose_estimator = estimator
        estimated = inferencer(None, exemplar, photo_path)
        inferencer.pose_estimator = finds_nobody
        with pytest.raises(ValueError, match='found nobody in'):
            inferencer(None, exemplar, photo_path)
    finally:
        inferencer.pose_estimator = None
    np.testing.assert_array_equal(estimated['fake_img'], from_file['fake_img'])
    assert estimated['data_sample'].query_id == '01_1_front.jpg'
    with pytest.raises(
            ValueError, match='body keypoint file.*pose '
            'estimator'):
        inferencer(None, exemplar, photo_path)

    openpose = str(root / 'pose' / 'MEN/Denim/id_00000002/'
                   '02_1_front_candidate.txt')
    message = f'{openpose} does not record the size of its image: give'
    with pytest.raises(ValueError, match=re.escape(message)):
        inferencer(openpose, exemplar)
    sized = inferencer(openpose, exemplar, cond_size=(64, 44))
    assert sized['fake_img'].shape == (SIZE, SIZE, 3)


def test_face_landmarks_and_face_parts(work):
    root = work / 'celebahq'
    root.mkdir()
    make_celebahq(str(root))
    exemplar = str(root / 'CelebA-HQ-img' / '1.jpg')
    landmarks = MCLNetInferencer(*tiny_setup(work, 'celebahq'))
    result = landmarks(str(root / 'landmarks' / '0.json'), exemplar)
    assert result['data_sample'].cond.shape == (7, SIZE, SIZE)

    parts = MCLNetInferencer(*tiny_setup(work, 'celebahq_parts'))
    prefix = str(root / 'CelebAMask-HQ-mask-anno' / '0' / '00000')
    by_prefix = parts(prefix, exemplar)
    assert by_prefix['data_sample'].cond.shape == (15, SIZE, SIZE)
    assert by_prefix['data_sample'].query_id == '00000'
    masks = {
        part: f'{prefix}_{part}.png'
        for part in ('skin', 'nose', 'l_eye', 'r_eye', 'mouth', 'hair')
    }
    # a face is named by one of its masks, their prefix or a dict
    assert face_part_paths(prefix + '_skin.png') == masks
    assert face_part_paths(prefix) == masks
    by_dict = parts(masks, exemplar)
    np.testing.assert_array_equal(by_dict['fake_img'], by_prefix['fake_img'])
    assert by_dict['data_sample'].query_id == '00000'
    with pytest.raises(FileNotFoundError, match='no face part masks'):
        parts(str(root / 'nobody'), exemplar)


# ---------------------------------------------------------------- errors
def test_config_and_checkpoint_errors(work, demo, ade):
    cfg, checkpoint = tiny_setup(work, 'demo')
    with pytest.raises(FileNotFoundError, match='config file nope.py not'):
        MCLNetInferencer('nope.py', checkpoint)
    with pytest.raises(
            FileNotFoundError, match='checkpoint file nope.pth not found'):
        MCLNetInferencer(cfg, 'nope.pth')
    garbage = work / 'garbage.pth'
    garbage.write_text('not a checkpoint')
    with pytest.raises(
            ValueError,
            match=f'checkpoint {re.escape(str(garbage))} is not a complete '
            'PyTorch checkpoint'):
        MCLNetInferencer(cfg, str(garbage))
    ade_checkpoint = tiny_setup(work, 'ade20k')[1]
    # one clause per module part that differs, not a list of keys
    with pytest.raises(
            ValueError,
            match=f'checkpoint {re.escape(ade_checkpoint)} does not fit '
            r'config .*mclnet_demo.py: generator\.correspondence\.'
            r'cond_encoder: \d+ weights not in the checkpoint, \d+ weights '
            r'not in the model; .*generator\.generator\.stem: 1 weight of '
            r'another shape \(first: weight: \(64, 154, 3, 3\) in the '
            r'checkpoint, \(64, 4, 3, 3\) in the model\)') as error:
        MCLNetInferencer(cfg, ade_checkpoint)
    assert str(error.value).count('cond_encoder') == 1
    # another label_nc: the parts that read the condition, and only them
    rgb_checkpoint = tiny_setup(
        work, 'demo', **{
            'model.generator.correspondence.cond_encoder.in_channels': 3
        })[1]
    with pytest.raises(ValueError) as error:
        MCLNetInferencer(cfg, rgb_checkpoint)
    parts = [
        clause.split(':')[0]
        for clause in str(error.value).split(': ', 1)[1].split('; ')
    ]
    assert parts[0] == 'generator.correspondence.cond_encoder'
    assert all(
        part.startswith(('generator.correspondence.cond_encoder',
                         'generator.generator.', 'discriminator.'))
        for part in parts), parts
    assert 'layers.0.conv.weight: (8, 3, 3, 3) in the checkpoint, ' \
        '(8, 1, 3, 3) in the model' in str(error.value)
    state_dict = torch.load(checkpoint)['state_dict']
    scm = [key for key in state_dict if '.scm.' in key]
    assert scm
    for key in scm:
        del state_dict[key]
    torch.save(dict(state_dict=state_dict), work / 'partial.pth')
    with pytest.raises(
            ValueError,
            match=r'fit config .*: generator\.correspondence\.scm: '
            f'{len(scm)} weights not in the checkpoint \\(trained with '
            'another config\\?\\)$'):
        MCLNetInferencer(cfg, str(work / 'partial.pth'))
    no_test = cfg.copy()
    no_test.test_dataloader = no_test.val_dataloader = None
    with pytest.raises(ValueError, match='has no test_dataloader'):
        MCLNetInferencer(no_test, checkpoint)


def test_vgg_and_ddp_entries_in_checkpoints_are_fine(work, images):
    cfg, _ = tiny_setup(work, 'demo')
    checkpoint = save_checkpoint(cfg, work / 'with_vgg.pth',
                                 **{'vgg.features.0.weight': torch.ones(1)})
    state = torch.load(checkpoint)
    state['state_dict'] = {
        'module.' + key: value
        for key, value in state['state_dict'].items()
    }
    torch.save(state, checkpoint)
    inferencer = MCLNetInferencer(cfg, checkpoint)
    assert inferencer.model.vgg is None
    inferencer(None, images['exemplar'], photo=images['photo'])


def test_missing_and_unreadable_inputs(demo, ade, images, work):
    inferencer, root = ade
    with pytest.raises(
            FileNotFoundError, match='exemplar file nope.jpg not found'):
        demo(None, 'nope.jpg', photo=images['photo'])
    with pytest.raises(FileNotFoundError, match='photo file nope.jpg not'):
        demo(None, images['exemplar'], photo='nope.jpg')
    with pytest.raises(
            FileNotFoundError, match='condition file nope.png not found'):
        inferencer('nope.png', exemplar_path(root))
    broken = work / 'broken.jpg'
    broken.write_bytes(b'no image')
    with pytest.raises(
            ValueError, match=f'image {broken} .*not a readable image'):
        demo(None, str(broken), photo=images['photo'])
    with pytest.raises(ValueError, match='broken.jpg is not a readable image'):
        inferencer(str(broken), exemplar_path(root))


def test_inputs_the_config_does_not_take(demo, ade, images):
    inferencer, root = ade
    with pytest.raises(
            ValueError, match='computes its condition from the photo'):
        demo(label_path(root), images['exemplar'], photo=images['photo'])
    with pytest.raises(
            ValueError, match='computes its condition from the photo'):
        demo(None, images['exemplar'])
    with pytest.raises(
            ValueError, match='from a label PNG of class ids: '
            'give cond='):
        inferencer(None, exemplar_path(root), photo=images['photo'])
    with pytest.raises(ValueError, match='give photo or cond_size, not both'):
        inferencer(
            label_path(root),
            exemplar_path(root),
            images['photo'],
            cond_size=(48, 64))
    # a photo of another size than the label map's is not its photo
    with pytest.raises(
            ValueError,
            match=r'label map .* is 64×48 .* is 80×40 '
            r'\(preparing the inputs of config .*ade20k'):
        inferencer(
            label_path(root), exemplar_path(root), photo=images['exemplar'])


def test_conditions_that_do_not_fit_the_model(work, ade, images):
    _, root = ade
    labels = np.zeros((48, 64), np.uint8)
    labels[:8] = 200
    cv2.imwrite(str(work / 'labels_200.png'), labels)
    with pytest.raises(
            ValueError,
            match=r'class id 200 is outside \[0, '
            r'150\].* \(preparing the inputs of config '
            r'.*mclnet_ade20k.py\)'):
        ade[0](str(work / 'labels_200.png'), exemplar_path(root))
    # the pipeline takes 151 classes but the model 100
    hundred = MCLNetInferencer(*tiny_setup(
        work, 'ade20k', **{
            'model.data_preprocessor.one_hot.cond': 100,
            'model.generator.correspondence.cond_encoder.in_channels': 100
        }))
    labels[:8] = 120
    cv2.imwrite(str(work / 'labels_120.png'), labels)
    with pytest.raises(
            ValueError,
            match='labels_120.png has class id 120, '
            'but config .*mclnet_ade20k.py has 100 classes'):
        hundred(str(work / 'labels_120.png'), exemplar_path(root))
    # a demo model taking 3 condition channels, fed the 1-channel edges
    three = MCLNetInferencer(*tiny_setup(
        work, 'demo', **
        {'model.generator.correspondence.cond_encoder.in_channels': 3}))
    with pytest.raises(
            ValueError,
            match='photo.png has 1 channels, but the '
            'model of config .*mclnet_demo.py takes 3'):
        three(None, images['exemplar'], photo=images['photo'])
