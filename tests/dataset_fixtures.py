"""Tiny datasets in each supported layout, written by the tests themselves
(real-looking photos: crops of scikit-image's bundled images)."""
import os
import os.path as osp
from typing import List

import cv2
import numpy as np
import skimage.data

from mclnet_plugin.datasets.exemplar_list import write_exemplar_list
from mclnet_plugin.datasets.exemplar_retrieval import same_outfit_exemplars
from mclnet_plugin.datasets.face_structure_files import (PART_LABELS,
                                                         write_landmark_json)
from mclnet_plugin.datasets.keypoint_files import (coco17_to_openpose18,
                                                   write_keypoint_json)


def photo(index: int, size=(48, 64)) -> np.ndarray:
    """A real photo crop (H, W, 3) uint8 RGB, different per index."""
    source = (skimage.data.astronaut(), skimage.data.coffee(),
              skimage.data.chelsea())[index % 3]
    top, left = 17 * (index // 3 % 8), 23 * (index // 3 % 8)
    crop = source[top:top + 4 * size[0], left:left + 4 * size[1]]
    return cv2.resize(crop, size[::-1], interpolation=cv2.INTER_AREA)


def save_rgb(path: str, image: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def label_map(index: int, size=(48, 64), num_classes: int = 151):
    """Horizontal bands of a few class ids, shifted per index."""
    labels = np.zeros(size, np.uint8)
    classes = [(index * 7 + k * 31) % num_classes for k in range(4)]
    for band, cls in enumerate(classes):
        labels[band * size[0] // 4:(band + 1) * size[0] // 4] = cls
    return labels


def make_ade20k(root: str,
                layout: str = 'official',
                num_train: int = 4,
                num_val: int = 2,
                size=(48, 64)) -> List[str]:
    """ADEChallengeData2016 (official or CoCosNet layout) with exemplar
    lists ade20k_ref.txt / ade20k_ref_test.txt; returns training names."""
    names = {}
    for split, prefix, count in (('training', 'train', num_train),
                                 ('validation', 'val', num_val)):
        names[split] = [f'ADE_{prefix}_{i + 1:08d}' for i in range(count)]
        for i, stem in enumerate(names[split]):
            offset = 0 if split == 'training' else 100
            if layout == 'official':
                image_path = osp.join(root, 'images', split, stem + '.jpg')
                label_path = osp.join(root, 'annotations', split,
                                      stem + '.png')
            else:
                image_path = osp.join(root, split, stem + '.jpg')
                label_path = osp.join(root, split, stem + '.png')
            save_rgb(image_path, photo(i + offset, size))
            os.makedirs(osp.dirname(label_path), exist_ok=True)
            cv2.imwrite(label_path, label_map(i + offset, size))
    train = [n + '.jpg' for n in names['training']]
    write_exemplar_list(
        osp.join(root, 'ade20k_ref.txt'),
        {n: [m for m in train if m != n][:2]
         for n in train})
    write_exemplar_list(
        osp.join(root, 'ade20k_ref_test.txt'),
        {n + '.jpg': train[:2]
         for n in names['validation']})
    return train


# A standing person in COCO-17 order (x, y) on a 44×64 (w×h) photo.
STANDING_COCO17 = np.array(
    [(22, 8), (24, 6), (20, 6), (26, 7), (18, 7), (28, 16), (16, 16),
     (31, 26), (13, 26), (32, 35), (12, 35), (26, 36), (18, 36), (27, 47),
     (17, 47), (27, 58), (17, 58)], np.float32)


def make_deepfashion(root: str, size=(64, 44)) -> List[str]:
    """DeepFashion In-shop: train.txt / val.txt, photos under img/, the
    first person's keypoints as MMPose JSON, the second's as OpenPose
    files, and train_ref.txt / val_ref.txt; returns the training names.
    ``size``: (h, w) of the photos."""
    splits = dict(
        train=[f'img/WOMEN/Dresses/id_00000001/01_{k}.jpg'
               for k in ('1_front', '2_side', '4_full')] +
        ['img/MEN/Denim/id_00000002/02_1_front.jpg',
         'img/MEN/Denim/id_00000002/02_3_back.jpg'],
        val=[f'img/MEN/Tees/id_00000003/01_{k}.jpg'
             for k in ('1_front', '2_side')])
    index = 0
    for split, names in splits.items():
        with open(osp.join(root, f'{split}.txt'), 'w') as file:
            file.write('\n'.join(names) + '\n')
        write_exemplar_list(
            osp.join(root, f'{split}_ref.txt'), same_outfit_exemplars(names))
        for name in names:
            save_rgb(osp.join(root, name), photo(index, size))
            stem = osp.splitext(name)[0][len('img/'):]
            keypoints = (STANDING_COCO17 + index % 3) * (size[1] / 44)
            scores = np.full(17, 0.9, np.float32)
            if 'MEN/Denim' not in name:
                write_keypoint_json(
                    osp.join(root, 'keypoints', stem + '.json'), keypoints,
                    scores, size)
            else:
                body, body_scores = coco17_to_openpose18(keypoints, scores)
                base = osp.join(root, 'pose', stem)
                os.makedirs(osp.dirname(base), exist_ok=True)
                with open(base + '_candidate.txt', 'w') as file:
                    file.writelines(f'{x} {y} {s} {i}\n' for i, ((x, y), s)
                                    in enumerate(zip(body, body_scores)))
                with open(base + '_subset.txt', 'w') as file:
                    file.write(' '.join(
                        [str(float(i)) for i in range(18)] +
                        [str(float(body_scores.sum())), '18.0']) + '\n')
            index += 1
    return splits['train']


# A blocky 68-point face on a 64×64 image: the jaw's bottom (points 4-12)
# runs along row 52 from x = 16 to 48; the lips end at row 45.
FACE_LANDMARKS = np.array(
    [(12, 20), (12, 28), (12, 36), (13, 44)] +
    [(16 + 4 * i, 52) for i in range(9)] +
    [(51, 44), (52, 36), (52, 28), (52, 20)] +  # jaw
    [(16, 16), (19, 14), (22, 13), (25, 14), (28, 16)] +  # brow
    [(36, 16), (39, 14), (42, 13), (45, 14), (48, 16)] +  # brow
    [(32, 18), (32, 22), (32, 26), (32, 30)] +  # nose bridge
    [(28, 33), (30, 34), (32, 35), (34, 34), (36, 33)] +  # lower nose
    [(18, 21), (20, 20), (23, 20), (26, 21), (23, 22), (20, 22)] +  # eye
    [(38, 21), (41, 20), (44, 20), (46, 21), (44, 22), (41, 22)] +  # eye
    [(24, 42), (27, 40), (30, 39), (32, 40), (34, 39), (37, 40), (40, 42),
     (37, 44), (34, 45), (32, 45), (30, 45), (27, 44)] +  # outer lips
    [(26, 42), (30, 41), (32, 41), (34, 41), (38, 42), (34, 43), (32, 43),
     (30, 43)],  # inner lips
    np.float32)


def face_parts():
    """(64, 64) labels: hair on top, skin, eyes of different sizes, a
    nose; ears, glasses, brows and lips absent."""
    labels = np.zeros((64, 64), np.uint8)
    labels[12:58, 10:50] = PART_LABELS['skin']
    labels[0:14, 6:54] = PART_LABELS['hair']
    labels[22:26, 16:24] = PART_LABELS['l_eye']
    labels[23:26, 36:40] = PART_LABELS['r_eye']
    labels[28:38, 28:36] = PART_LABELS['nose']
    labels[44:48, 24:38] = PART_LABELS['mouth']
    return labels


def make_celebahq(root: str,
                  num_train: int = 4,
                  num_val: int = 2,
                  size: int = 64) -> list:
    """CelebAMask-HQ: train.txt / val.txt, photos, landmark JSON files,
    part masks and train_ref.txt / val_ref.txt; returns the training
    names. ``size``: the photos' side (the masks stay 64×64 unless larger
    photos ask for 512, CelebAMask-HQ's)."""
    stems = [str(i) for i in range(num_train + num_val)]
    splits = dict(train=stems[:num_train], val=stems[num_train:])
    for index, stem in enumerate(stems):
        save_rgb(osp.join(root, 'CelebA-HQ-img', stem + '.jpg'),
                 photo(index, (size, size)))
        write_landmark_json(
            osp.join(root, 'landmarks', stem + '.json'),
            (FACE_LANDMARKS + index % 3) * (size / 64), (size, size))
        labels = face_parts()
        if size > 64:
            labels = cv2.resize(
                labels, (512, 512), interpolation=cv2.INTER_NEAREST)
        for part, label in PART_LABELS.items():
            if (labels == label).any():
                mask_dir = osp.join(root, 'CelebAMask-HQ-mask-anno', '0')
                os.makedirs(mask_dir, exist_ok=True)
                cv2.imwrite(
                    osp.join(mask_dir, f'{index:05d}_{part}.png'),
                    np.where(labels == label, 255, 0).astype(np.uint8))
    for split, names in splits.items():
        with open(osp.join(root, f'{split}.txt'), 'w') as file:
            file.write('\n'.join(names) + '\n')
    files = [s + '.jpg' for s in stems]
    write_exemplar_list(
        osp.join(root, 'train_ref.txt'),
        {f: [g for g in files[:num_train] if g != f][:2]
         for f in files[:num_train]})
    write_exemplar_list(
        osp.join(root, 'val_ref.txt'),
        {f: files[:2]
         for f in files[num_train:]})
    return files[:num_train]
