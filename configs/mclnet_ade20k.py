# Short alias of configs/mclnet/mclnet_spade_4xb8-126kiters_ade20k-256x256.py
_base_ = ['./mclnet/mclnet_spade_4xb8-126kiters_ade20k-256x256.py']
