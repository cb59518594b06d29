"""The visualizer of MCL-Net configs: where a task says how its condition is
drawn, for every picture of it (training grids, test outputs, translate)."""
from typing import Optional, Sequence

from mmagic.registry import VISUALIZERS
from mmagic.visualization import Visualizer


@VISUALIZERS.register_module()
class TranslationVisualizer(Visualizer):
    """MMagic's ``Visualizer`` that knows how this task's condition map is
    drawn: ``TranslationGridHook``, ``SaveTranslationsHook`` and
    ``MCLNetInferencer`` all draw it with these ``cond_channels``.

    Args:
        name: the instance's name (MMEngine's ``ManagerMixin``).
        cond_channels: condition channels to show (see
            :func:`condition_image`): e.g. ``(0, 1, 2)``, the RGB skeleton
            of DeepFashion's 20-channel pose map. None: chosen from the map
            (grey, RGB, class colours of a one-hot map, else channel 0).
        **kwargs: MMagic's ``Visualizer`` (``vis_backends``, ``save_dir``).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 cond_channels: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.cond_channels = None if cond_channels is None else tuple(
            cond_channels)


def cond_channels_of(visualizer) -> Optional[Sequence[int]]:
    """The condition channels a runner's visualizer shows; None (chosen
    from the map) for visualizers other than ``TranslationVisualizer``."""
    return getattr(visualizer, 'cond_channels', None)
