"""Exemplar lists in CoCosNet's text format.

One line per query image: ``query,ref1,ref2,...`` — the query's file name
(or path relative to the data root) followed by its retrieved exemplars,
most similar first. CoCosNet's training protocol uses the first ("easy")
and the last ("hard") reference; testing uses the first.

Paths may use ``/`` or Windows' ``\\`` (CoCosNet's own DeepFashion lists
do: ``img\\WOMEN\\...``); both read as ``/``.
"""
import os.path as osp
from typing import Dict, Mapping, Sequence

SEPARATORS_NOTE = 'paths relative to data_root, with / or \\ separators'


def list_name(name: str) -> str:
    """A name as written in a list file → the name the datasets use: spaces
    around it stripped, Windows separators as ``/``."""
    return name.strip().replace('\\', '/')


class ExemplarRefs(list):
    """The reference names of one query, remembering the list file's line
    they came from (for error messages)."""

    def __init__(self, names: Sequence[str], line_no: int) -> None:
        super().__init__(names)
        self.line_no = line_no


def read_exemplar_list(path: str) -> Dict[str, ExemplarRefs]:
    """Query name → its reference names (an :class:`ExemplarRefs`), in file
    order.

    Blank lines are skipped, spaces around names are stripped and ``\\``
    separators become ``/`` (:func:`list_name`). A line
    without a reference, an empty name or a repeated query raises a
    ``ValueError`` naming the file and line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'exemplar list {path} not found')
    exemplars: Dict[str, ExemplarRefs] = {}
    with open(path, encoding='utf-8') as file:
        for line_no, line in enumerate(file, start=1):
            if not line.strip():
                continue
            names = [list_name(name) for name in line.split(',')]
            where = f'{path}, line {line_no}'
            if any(not name for name in names):
                raise ValueError(f'{where}: empty name in {line.strip()!r} '
                                 '(expected "query,ref1,ref2,...")')
            if len(names) < 2:
                raise ValueError(f'{where}: {names[0]!r} has no reference '
                                 '(expected "query,ref1,ref2,...")')
            if names[0] in exemplars:
                raise ValueError(f'{where}: query {names[0]!r} is listed '
                                 'twice')
            exemplars[names[0]] = ExemplarRefs(names[1:], line_no)
    if not exemplars:
        raise ValueError(f'exemplar list {path} is empty')
    return exemplars


def write_exemplar_list(path: str,
                        exemplars: Mapping[str, Sequence[str]]) -> None:
    """Writes ``query,ref1,ref2,...`` lines (the inverse of
    :func:`read_exemplar_list`)."""
    with open(path, 'w', encoding='utf-8') as file:
        for query, refs in exemplars.items():
            names = [query, *refs]
            bad = [name for name in names if not name or ',' in name]
            if bad or len(names) < 2:
                raise ValueError(
                    f'cannot write exemplar list line for {query!r}: '
                    f'needs at least one reference and names without commas'
                    f' (got {names})')
            file.write(','.join(names) + '\n')
