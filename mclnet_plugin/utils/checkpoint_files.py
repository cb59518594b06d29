"""A checkpoint file that cannot be read is one clear error naming it."""
import os.path as osp
import zipfile

# the first byte of torch.save's pre-1.6 (pickle) format
LEGACY_MAGIC = b'\x80'


def check_checkpoint_file(path: str, what: str = 'checkpoint') -> None:
    """Raise if ``path`` is not a complete PyTorch checkpoint.

    ``torch.save`` writes a zip archive whose directory is at the end, so a
    file cut short by a kill or a full disk has none; each member's CRC is
    checked too (a few seconds per GB). ``what`` names the file's role in
    the message (e.g. "the checkpoint last_checkpoint names").
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path} does not exist')
    size = osp.getsize(path)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                broken = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise ValueError(f'{what} {path} is corrupt ({size} bytes): '
                             f'{error}') from None
        if broken is not None:
            raise ValueError(f'{what} {path} is corrupt: its entry {broken} '
                             'fails its CRC check')
        return
    with open(path, 'rb') as f:
        if f.read(1) == LEGACY_MAGIC:
            return
    raise ValueError(
        f'{what} {path} is not a complete PyTorch checkpoint ({size} bytes):'
        ' truncated by an interrupted save, or not written by torch.save')
