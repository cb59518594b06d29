# Runtime shared by every MCL-Net config: MMagic's GAN runtime (hooks,
# logging, checkpoints, visualiser) plus this plugin's registrations.
_base_ = 'mmagic::_base_/gen_default_runtime.py'

default_scope = 'mmagic'
custom_imports = dict(imports=['mclnet_plugin'], allow_failed_imports=False)
