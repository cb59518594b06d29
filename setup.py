"""Also ships model-index.yml and configs/ in mclnet_plugin/.mim/, where
OpenMMLab's mim looks for an installed package's models (`mim search`)."""
import os
import os.path as osp
import shutil

from setuptools import setup

ROOT = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('model-index.yml', 'configs')


def copy_mim_files() -> None:
    mim_dir = osp.join(ROOT, 'mclnet_plugin', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        source, target = osp.join(ROOT, name), osp.join(mim_dir, name)
        if not osp.exists(source):  # building from an sdist: already there
            continue
        if osp.isdir(target):
            shutil.rmtree(target)
        if osp.isdir(source):
            shutil.copytree(source, target,
                            ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copyfile(source, target)


copy_mim_files()
setup()
