"""MMagic's loss-component calling convention, shared by our losses.

A loss is called either directly with its tensors, ``loss(a, b)``, or - when
built with ``data_info=dict(a='key_a', b='key_b')`` - with a model's outputs
dict, ``loss(outputs_dict)``, from which the tensors are looked up (as
MMagic's ``gen_auxiliary_loss`` components are called).
"""
from typing import Optional, Sequence, Tuple

import torch.nn as nn


def check_data_info(loss: str, data_info: Optional[dict],
                    arg_names: Sequence[str]) -> None:
    """``data_info`` must map exactly the loss's argument names."""
    if data_info is not None and set(data_info) != set(arg_names):
        names = ' and '.join(repr(n) for n in arg_names)
        raise ValueError(
            f'{loss}: data_info must map exactly {names} to keys of the '
            f'outputs dict, got {data_info}')


def loss_inputs(loss: str, data_info: Optional[dict],
                arg_names: Sequence[str], args: tuple,
                kwargs: dict) -> Tuple:
    """The loss's arguments, in the order of ``arg_names``."""
    if data_info is None:
        values = dict(zip(arg_names, args), **kwargs)
        if len(args) > len(arg_names) or set(values) != set(arg_names):
            raise TypeError(
                f'{loss} expects ({", ".join(arg_names)}); got {len(args)} '
                f'positional arguments and keywords {list(kwargs)}')
        return tuple(values[name] for name in arg_names)
    if len(args) == 1 and isinstance(args[0], dict) and not kwargs:
        outputs_dict = args[0]
    elif not args and set(kwargs) == {'outputs_dict'}:
        outputs_dict = kwargs['outputs_dict']
    else:
        raise TypeError(
            f'{loss} with data_info expects the outputs dict, as '
            'loss(outputs_dict) or loss(outputs_dict=...)')
    missing = [key for key in data_info.values() if key not in outputs_dict]
    if missing:
        raise KeyError(f'{loss}: outputs dict has no {missing} (data_info='
                       f'{data_info}, keys: {sorted(outputs_dict)})')
    return tuple(outputs_dict[data_info[name]] for name in arg_names)


class LossComponent(nn.Module):
    """Base of our registered losses: ``loss_weight``, ``data_info`` and
    ``loss_name()`` as MMagic's loss components have them.

    Subclasses name their tensor arguments in ``arg_names`` and read them in
    ``forward(*args, **kwargs)`` with ``self.inputs(args, kwargs)``.
    """

    arg_names: Tuple[str, ...] = ()

    def __init__(self, loss_weight: float, data_info: Optional[dict],
                 loss_name: str) -> None:
        super().__init__()
        check_data_info(type(self).__name__, data_info, self.arg_names)
        self.loss_weight = loss_weight
        self.data_info = data_info
        self._loss_name = loss_name

    def loss_name(self) -> str:
        """Name of this loss in the log; the ``loss_`` prefix puts it in the
        backward graph (MMagic loss-component API)."""
        return self._loss_name

    def inputs(self, args: tuple, kwargs: dict) -> Tuple:
        """The call's tensors, in the order of ``arg_names``."""
        return loss_inputs(
            type(self).__name__, self.data_info, self.arg_names, args, kwargs)
