# Short alias of the DeepFashion config in configs/mclnet/
_base_ = ['./mclnet/mclnet_spade_4xb8-152kiters_deepfashion-256x256.py']
