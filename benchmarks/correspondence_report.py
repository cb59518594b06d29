"""Tables, plot and picture grid of the correspondence benchmark."""
import json
import os.path as osp
import re
from typing import Dict, List

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# (key, header, decimals) of the Markdown columns, per evaluation set
COLUMNS = dict(
    synthetic=(('epe', 'EPE ↓', 2), ('within_1', '≤1 cell ↑', 2),
               ('l1', 'L1 ↓', 3), ('psnr', 'PSNR ↑', 2),
               ('ssim', 'SSIM ↑', 3), ('psnr_of_oracle', 'PSNR / oracle', 3),
               ('gain_of_oracle', 'gain / oracle gain', 2)),
    stereo=(('epe', 'EPE ↓', 2), ('psnr', 'PSNR ↑', 2),
            ('gain_of_oracle', 'gain / oracle gain', 2)))
PICTURE_SAMPLES = dict(synthetic=(0, 1), stereo=(0, ))


def per_seed(rows: List[dict], oracle: dict,
             untrained: List[dict]) -> Dict[str, List[float]]:
    """Each metric over seeds, plus PSNR as a fraction of the oracle's and
    the gain over the same seed's untrained net as a fraction of the
    oracle's gain."""
    values = {key: [row[key] for row in rows]
              for key in rows[0] if key != 'seed'}
    values['psnr_of_oracle'] = [row['psnr'] / oracle['psnr'] for row in rows]
    base = {row['seed']: row['psnr'] for row in untrained}
    values['gain_of_oracle'] = [
        (row['psnr'] - base[row['seed']]) /
        (oracle['psnr'] - base[row['seed']]) for row in rows
    ]
    return values


def summary(results: dict) -> Dict[str, Dict[str, dict]]:
    """variant → set → metric → dict(mean, std, min, max, n)."""
    table = {}
    for name, sets in results['variants'].items():
        for set_name, rows in sets.items():
            values = per_seed(rows, results['oracle'][set_name],
                              results['variants']['untrained'][set_name])
            table.setdefault(name, {})[set_name] = {
                key: dict(mean=float(np.mean(v)), std=float(np.std(v)),
                          min=float(np.min(v)), max=float(np.max(v)),
                          n=len(v))
                for key, v in values.items()
            }
    return table


def markdown_table(results: dict, table: dict) -> str:
    header, rule = ['variant'], ['---']
    for set_name, columns in COLUMNS.items():
        for _, title, _ in columns:
            header.append(f'{set_name} {title}')
            rule.append('---:')
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join(rule) + '|']
    for name, sets in table.items():
        cells = [name]
        for set_name, columns in COLUMNS.items():
            for key, _, digits in columns:
                stats = sets[set_name][key]
                cells.append(f'{stats["mean"]:.{digits}f} ± '
                             f'{stats["std"]:.{digits}f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    cells = ['oracle (true flow)']
    for set_name, columns in COLUMNS.items():
        for key, _, digits in columns:
            value = {'psnr_of_oracle': 1.0, 'gain_of_oracle': 1.0,
                     'epe': 0.0, 'within_1': 1.0}.get(
                         key, results['oracle'][set_name].get(key))
            cells.append(f'{value:.{digits}f}')
    lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot_margins(report: dict, tables: dict, path: str) -> None:
    """EPE and PSNR (held-out synthetic) against the margin, one row per
    condition; m = 0 is the plain contrastive loss."""
    conditions = list(tables)
    figure, axes = plt.subplots(len(conditions), 2, squeeze=False,
                                figsize=(9, 3.2 * len(conditions)))
    for row, condition in enumerate(conditions):
        table = tables[condition]
        margins = [(0.0, '+CL (m=0)')] + [
            (float(name.split('=')[1].rstrip(')')), name) for name in table
            if name.startswith('+MCL (m=') and name.endswith(')')
        ]
        margins = [(m, name) for m, name in margins if name in table]
        for axis, key, label in ((axes[row, 0], 'epe', 'EPE (cells) ↓'),
                                 (axes[row, 1], 'psnr', 'PSNR (dB) ↑')):
            stats = [table[name]['synthetic'][key] for _, name in margins]
            axis.errorbar([m for m, _ in margins],
                          [s['mean'] for s in stats],
                          yerr=[s['std'] for s in stats], marker='o',
                          capsize=3, label='+CL / +MCL')
            for name, style in (('baseline', '--'), ('+SCM', ':'),
                                ('untrained', '-.')):
                if name in table:
                    axis.axhline(table[name]['synthetic'][key]['mean'],
                                 linestyle=style, color='grey', label=name)
            if key == 'psnr':
                axis.axhline(report['conditions'][condition]['oracle']
                             ['synthetic']['psnr'], color='k', label='oracle')
            axis.set_xlabel('margin m (rad)')
            axis.set_ylabel(label)
            axis.set_title(f'{condition}, held-out photos')
        axes[row, 1].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def picture_grid(pictures: dict, path: str) -> None:
    """Rows: held-out samples of each condition; columns: exemplar,
    condition, each variant's warped exemplar (first seed), oracle,
    truth."""
    rows = [(condition, set_name, index)
            for condition in pictures
            for set_name, indices in PICTURE_SAMPLES.items()
            for index in indices]

    def variant_names(condition: str) -> List[str]:
        # the same order in every condition; "+MCL (m=…)+SCM" uses the
        # condition's own best margin
        return [name for name in pictures[condition]['warped']
                if name != 'oracle'] + ['oracle']

    titles = ['exemplar', 'condition'] + [
        re.sub(r'\(m=[0-9.]+\)\+SCM', '(best m)+SCM', name)
        for name in variant_names(rows[0][0])
    ] + ['truth']
    figure, axes = plt.subplots(len(rows), len(titles), squeeze=False,
                                figsize=(1.3 * len(titles), 1.45 * len(rows)))
    for r, (condition, set_name, index) in enumerate(rows):
        images = pictures[condition]
        cond = images['cond'][set_name][index].numpy()
        tiles = [images['exemplar'][set_name][index],
                 cond.argmax(0) if cond.shape[0] > 1 else cond[0]]
        tiles += [images['warped'][name][set_name][index]
                  for name in variant_names(condition)]
        tiles.append(images['truth'][set_name][index])
        for c, tile in enumerate(tiles):
            axis = axes[r, c]
            if c == 1:
                axis.imshow(tile, cmap='tab10' if cond.shape[0] > 1 else
                            'gray', interpolation='nearest')
            else:
                axis.imshow(((tile.clamp(-1, 1) + 1) / 2).permute(1, 2,
                                                                  0).numpy())
            axis.set_xticks([])
            axis.set_yticks([])
            if r == 0:
                axis.set_title(titles[c], fontsize=5)
            if c == 0:
                axis.set_ylabel(f'{condition}\n{set_name} {index}',
                                fontsize=6)
    figure.tight_layout(pad=0.2)
    figure.savefig(path, dpi=130)
    plt.close(figure)


def write_report(report: dict, pictures: dict, out: str) -> None:
    """table.md, results.json, margins.png, grid.png in ``out``."""
    tables = {condition: summary(results)
              for condition, results in report['conditions'].items()}
    settings = report['settings']
    lines = [
        '# Known-flow correspondence benchmark', '',
        f'{settings["size"]}×{settings["size"]} images, '
        f'{settings["size"] // 4}×{settings["size"] // 4} features; '
        f'{settings["iters"]} iterations × batch {settings["batch"]}; '
        f'seeds {settings["seeds"]}; mean ± std over seeds; '
        f'runtime {report["runtime_s"]:.0f} s.', ''
    ]
    for condition, table in tables.items():
        best = report['conditions'][condition]['best_margin']
        lines += [f'## Condition: {condition}', '',
                  f'Best margin (lowest mean held-out EPE): {best}', '',
                  markdown_table(report['conditions'][condition], table), '']
    with open(osp.join(out, 'table.md'), 'w') as file:
        file.write('\n'.join(lines))
    with open(osp.join(out, 'results.json'), 'w') as file:
        json.dump(dict(report, summary=tables), file, indent=1)
    plot_margins(report, tables, osp.join(out, 'margins.png'))
    picture_grid(pictures, osp.join(out, 'grid.png'))
