"""Plots of docs/benchmarks.md's tables: time and memory against N for both
paths of each correspondence component, and the training step's breakdown
by stage.

The figures are drawn from the Markdown tables themselves, so they show
exactly the numbers the document states; rerun after the tables change::

    python benchmarks/plot_benchmarks.py [--doc docs/benchmarks.md] \
        [--out docs/benchmarks]
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

Table = Tuple[List[str], List[List[str]]]
COMPONENT_HEADER = ('component', 'N', 'method')
STAGE_HEADER = 'stage'
# the materialised (reference) rows of the component table
REFERENCE_METHODS = ('naive', 'materialised')


def markdown_tables(text: str) -> List[Table]:
    """Every pipe table of a Markdown text as (header, rows) of stripped
    cells; the separator row is dropped."""
    tables, block = [], []
    for line in text.splitlines() + ['']:
        line = line.strip()
        if line.startswith('|') and line.endswith('|'):
            block.append([cell.strip() for cell in line[1:-1].split('|')])
            continue
        if len(block) >= 2 and set(''.join(block[1])) <= set('-: '):
            tables.append((block[0], block[2:]))
        block = []
    return tables


def find_table(tables: List[Table], first_cells: Tuple[str, ...],
               doc: str) -> Table:
    for header, rows in tables:
        if tuple(header[:len(first_cells)]) == first_cells:
            return header, rows
    raise ValueError(f'{doc}: no table whose header starts with '
                     f'{" | ".join(first_cells)!r}')


def component_series(table: Table) -> Dict[Tuple[str, str], dict]:
    """(component, method) → dict(n, time_ms, peak_mb) lists, by N."""
    header, rows = table
    time_col = header.index('time ms')
    memory_col = header.index('peak extra MB')
    series: Dict[Tuple[str, str], dict] = {}
    for row in rows:
        entry = series.setdefault((row[0], row[2]),
                                  dict(n=[], time_ms=[], peak_mb=[]))
        entry['n'].append(int(row[1]))
        entry['time_ms'].append(float(row[time_col]))
        entry['peak_mb'].append(float(row[memory_col]))
    return series


def stage_times(table: Table) -> Dict[str, Dict[str, float]]:
    """case → stage → seconds; the sum and whole-step rows are left out
    (the figure marks the whole step separately)."""
    header, rows = table
    cases = [name.replace('`', '').replace('*', '').strip()
             for name in header[1:]]
    times = {case: {} for case in cases}
    for row in rows:
        for case, cell in zip(cases, row[1:]):
            times[case][row[0]] = float(cell.strip('* '))
    return times


def plot_components(series: Dict[Tuple[str, str], dict], path: str) -> None:
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    components = list(dict.fromkeys(component for component, _ in series))
    colours = dict(zip(components, plt.rcParams['axes.prop_cycle'].by_key()
                       ['color']))
    for (component, method), entry in series.items():
        style = dict(color=colours[component], marker='o',
                     linestyle=':' if method in REFERENCE_METHODS else '-',
                     label=f'{component}: {method}')
        time_axis.plot(entry['n'], entry['time_ms'], **style)
        memory_axis.plot(entry['n'], entry['peak_mb'], **style)
    for axis, label in ((time_axis, 'forward + backward, ms'),
                        (memory_axis, 'peak extra memory, MB')):
        axis.set_xscale('log', base=2)
        axis.set_yscale('log')
        axis.set_xlabel('N (positions)')
        axis.set_ylabel(label)
        axis.grid(True, which='both', alpha=0.3)
    memory_axis.legend(fontsize=7, loc='upper left')
    figure.suptitle('Correspondence components, fp32, batch 1 '
                    '(dotted: reference formula)')
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_stages(times: Dict[str, Dict[str, float]], path: str) -> None:
    cases = list(times)
    stages = [stage for stage in times[cases[0]]
              if stage not in ('sum of stages', 'whole step')]
    figure, axis = plt.subplots(figsize=(12, 4.5))
    left = [0.0] * len(cases)
    colours = plt.get_cmap('tab10')
    for index, stage in enumerate(stages):
        widths = [times[case][stage] for case in cases]
        axis.barh(cases, widths, left=left, color=colours(index % 10),
                  label=stage)
        left = [start + width for start, width in zip(left, widths)]
    whole = [times[case].get('whole step') for case in cases]
    axis.scatter([w for w in whole if w is not None],
                 [c for c, w in zip(cases, whole) if w is not None],
                 marker='|', s=400, color='black', label='whole step',
                 zorder=3)
    axis.invert_yaxis()
    axis.set_xlabel('seconds (forward + backward), batch 1')
    axis.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1.0))
    axis.set_title('Training step by stage, ADE20K setting')
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None) -> List[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--doc', default='docs/benchmarks.md')
    parser.add_argument('--out', default='docs/benchmarks')
    args = parser.parse_args(argv)
    with open(args.doc, encoding='utf-8') as f:
        tables = markdown_tables(f.read())
    os.makedirs(args.out, exist_ok=True)
    written = [osp.join(args.out, 'correspondence_vs_n.png'),
               osp.join(args.out, 'step_breakdown.png')]
    plot_components(
        component_series(find_table(tables, COMPONENT_HEADER, args.doc)),
        written[0])
    plot_stages(stage_times(find_table(tables, (STAGE_HEADER, ), args.doc)),
                written[1])
    for path in written:
        print(f'[plot] {path}')
    return written


if __name__ == '__main__':
    main()
