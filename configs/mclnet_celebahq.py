# Short alias of configs/mclnet/mclnet_spade_4xb8-52kiters_celebahq-256x256.py
_base_ = ['./mclnet/mclnet_spade_4xb8-52kiters_celebahq-256x256.py']
