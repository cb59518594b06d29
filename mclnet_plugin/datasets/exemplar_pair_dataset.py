"""The part the three tasks' datasets share: a split of (condition, ground
truth) samples, each paired with exemplars from a CoCosNet-format list."""
import os.path as osp
from typing import List, Optional, Tuple

from mmengine.dataset import BaseDataset

from .exemplar_list import SEPARATORS_NOTE, list_name, read_exemplar_list


class ExemplarPairDataset(BaseDataset):
    """Base class: subclasses list the samples of a split and resolve an
    exemplar name to a file.

    Every item is a dict with ``query_id`` (the sample's name, as in the
    exemplar list), ``gt_path``, the condition's path(s) (``cond_path``, or
    what the subclass documents) and ``exemplar_paths``. In training these
    are the first ("easy") and last ("hard") retrieved references, of which
    the pipeline's ``ChooseExemplar`` draws one (CoCosNet's protocol); in
    test mode each item has one reference (the first ``exemplars_per_query``
    references make one item each). ``PseudoExemplar`` may then replace the
    exemplar by an augmented ground truth (Eq. 5).

    Args:
        data_root: the dataset folder (see the subclass for its layout).
        split: which split to read (subclass-specific names).
        exemplar_list: a ``query,ref1,ref2,...`` file, absolute or relative
            to ``data_root``. None: every sample's only exemplar is its own
            ground truth, for training with pseudo pairs only (Eq. 5).
        exemplars_per_query: in test mode, how many of each query's
            references become items (several give the LPIPS-diversity
            protocol; 1 = the paper's test protocol, the first reference).
        pipeline: transforms applied to each item.
        test_mode: True for validation/testing.
    """

    # What a newcomer should see when the data root is not as expected.
    LAYOUT = ''

    def __init__(self,
                 data_root: str,
                 split: str,
                 exemplar_list: Optional[str] = None,
                 exemplars_per_query: int = 1,
                 pipeline=(),
                 test_mode: bool = False,
                 **kwargs) -> None:
        if exemplars_per_query < 1:
            raise ValueError(f'{type(self).__name__}: exemplars_per_query '
                             f'must be >= 1, got {exemplars_per_query}')
        self.split = split
        self.exemplar_list = exemplar_list
        self.exemplars_per_query = exemplars_per_query
        super().__init__(
            data_root=data_root,
            pipeline=list(pipeline),
            test_mode=test_mode,
            **kwargs)

    # ------------------------------------------------------ for subclasses
    def list_samples(self) -> List[dict]:
        """The split's samples: dicts with ``query_id``, ``gt_path`` and the
        condition's path(s); files are checked to exist."""
        raise NotImplementedError

    def exemplar_path(self, name: str) -> Optional[str]:
        """The file of the exemplar called ``name`` in the exemplar list, or
        None if there is none."""
        path = osp.join(self.data_root, name)
        return path if osp.isfile(path) else None

    def read_split_file(self) -> List[Tuple[int, str]]:
        """(line number, name) of each non-blank line of
        ``<data_root>/<split>.txt`` (names as :func:`list_name` reads
        them: ``\\`` separators become ``/``)."""
        path = osp.join(self.data_root, f'{self.split}.txt')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{type(self).__name__}: split file {path} not found; '
                f'expected {self.LAYOUT} (see docs/datasets.md)')
        with open(path, encoding='utf-8') as file:
            return [(line_no, list_name(line))
                    for line_no, line in enumerate(file, start=1)
                    if line.strip()]

    # ---------------------------------------------------------------- data
    def load_data_list(self) -> List[dict]:
        name = type(self).__name__
        if not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'{name}: data_root {self.data_root} does not exist; '
                f'expected {self.LAYOUT} (see docs/datasets.md)')
        samples = self.list_samples()
        if not samples:
            raise ValueError(
                f'{name}: split {self.split!r} under {self.data_root} has no '
                f'samples; expected {self.LAYOUT} (see docs/datasets.md)')
        if self.exemplar_list is None:
            for sample in samples:
                sample['exemplar_paths'] = [sample['gt_path']]
            return samples
        return self._pair_with_exemplars(samples)

    def _pair_with_exemplars(self, samples: List[dict]) -> List[dict]:
        list_path = self.exemplar_list
        if not osp.isabs(list_path) and not osp.isfile(list_path):
            list_path = osp.join(self.data_root, list_path)
        if not osp.isfile(list_path):
            raise FileNotFoundError(
                f'{type(self).__name__}: exemplar list {list_path} not found;'
                ' use CoCosNet\'s or build it with tools/dataset_converters/'
                'build_exemplar_list.py (docs/datasets.md), or set '
                'exemplar_list=None to train on pseudo pairs only')
        exemplars = read_exemplar_list(list_path)
        items = []
        for sample in samples:
            refs = exemplars.get(sample['query_id'])
            if refs is None:
                raise KeyError(
                    f'{type(self).__name__}: {sample["query_id"]!r} '
                    f'({sample["gt_path"]}) has no line in the exemplar list'
                    f' {list_path} ({SEPARATORS_NOTE}); rebuild it with '
                    'tools/dataset_converters/build_exemplar_list.py')
            if not self.test_mode:
                # the protocol draws the first ("easy") or last ("hard")
                used = refs[:1] + refs[1:][-1:]
                items.append(
                    dict(
                        sample,
                        exemplar_paths=[
                            self._resolve(ref, list_path, refs.line_no)
                            for ref in used
                        ]))
                continue
            if len(refs) < self.exemplars_per_query:
                raise ValueError(
                    f'{list_path}, line {refs.line_no}: '
                    f'{sample["query_id"]!r} has {len(refs)} references, '
                    f'exemplars_per_query is {self.exemplars_per_query}')
            items.extend(
                dict(
                    sample,
                    exemplar_paths=[
                        self._resolve(ref, list_path, refs.line_no)
                    ]) for ref in refs[:self.exemplars_per_query])
        return items

    def _resolve(self, ref: str, list_path: str, line_no: int) -> str:
        path = self.exemplar_path(ref)
        if path is None:
            raise FileNotFoundError(
                f'{list_path}, line {line_no}: exemplar {ref!r} not found '
                f'under {self.data_root} ({SEPARATORS_NOTE})')
        return path
