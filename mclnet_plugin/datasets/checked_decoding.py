"""Decoding image files so that damage is an error naming the file, never
an image that is grey or noisy where its data is missing or wrong."""
import os
import os.path as osp
import sys
import threading
from contextlib import contextmanager
from typing import Iterator, List

import cv2
import mmcv
import numpy as np

# libjpeg's warnings about damaged data (jerror.h: JWRN_JPEG_EOF and the
# "Corrupt JPEG data: ..." family). It decodes such files anyway, filling
# what it cannot read with grey, and OpenCV returns that image without a
# sign: the warning, printed on stderr, is the only one.
JPEG_DAMAGE_WARNINGS = ('Corrupt JPEG data', 'Premature end of JPEG file')
# One redirection of file descriptor 2 at a time in a process.
_STDERR_LOCK = threading.Lock()


@contextmanager
def captured_stderr() -> Iterator[List[str]]:
    """Collects what is written to file descriptor 2 inside the block (C
    libraries' messages) into the yielded list, one entry per line.

    Neither end of the pipe blocks: what the block writes beyond the pipe's
    capacity (64 KiB on Linux) is dropped, and the read does not wait for
    a subprocess that another thread started meanwhile (it would share the
    write end). The caller writes the lines it does not keep back to
    ``sys.stderr`` itself.
    """
    lines: List[str] = []
    with _STDERR_LOCK:
        sys.stderr.flush()
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        os.set_blocking(write_end, False)
        saved = os.dup(2)
        os.dup2(write_end, 2)
        os.close(write_end)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            lines.extend(_read_available(read_end).splitlines())
            os.close(read_end)


def _read_available(fd: int) -> str:
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    except BlockingIOError:
        pass
    return b''.join(chunks).decode(errors='replace')


def jpeg_end_missing(data: bytes) -> bool:
    """Whether ``data`` is a JPEG whose header is complete but which has no
    end-of-image marker (FFD9) after its first scan: truncated, or with
    its tail overwritten (a zero-filled tail decodes without a warning).

    Walks the header's segments to the first start-of-scan (an EXIF
    thumbnail inside them has an end marker of its own); within scans
    FFD9 cannot occur but as that marker. Data that is no JPEG, or a
    header that does not parse, is left to the decoder.
    """
    if not data.startswith(b'\xff\xd8'):
        return False
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return False
        marker = data[position + 1]
        if marker == 0xDA:  # start of scan
            # searched from the end, where a complete file has it
            return data.rfind(b'\xff\xd9', position) < 0
        if marker == 0xFF:  # fill byte
            position += 1
        else:
            position += 2 + int.from_bytes(data[position + 2:position + 4],
                                           'big')
    return True  # the header itself is cut short


@contextmanager
def _failing_on_jpeg_damage(description: str) -> Iterator[None]:
    """Raises ``ValueError('<description> is damaged: ...')`` after a block
    in which libjpeg reported damaged data; other stderr lines of the
    block are passed on."""
    messages: List[str] = []
    try:
        with captured_stderr() as messages:
            yield
    finally:
        damage = [
            line for line in messages if line.startswith(JPEG_DAMAGE_WARNINGS)
        ]
        for line in messages:
            if line not in damage:
                print(line, file=sys.stderr)
    if damage:
        raise ValueError(
            f'{description} is damaged: libjpeg reports "{damage[0]}" (a '
            'corrupted file: copy or download it again)')


def decode_checked(data: bytes, description: str,
                   **imfrombytes_args) -> np.ndarray:
    """``mmcv.imfrombytes(data, **imfrombytes_args)``, raising one
    ``ValueError`` that starts with ``description`` (e.g. the file's name)
    for data that is no decodable image, a JPEG without its end-of-image
    marker, or a JPEG that libjpeg reports as corrupt while OpenCV decodes
    it (which returns the image, grey or noisy where the data is bad).
    Damaged PNGs fail to decode in OpenCV."""
    if jpeg_end_missing(data):
        raise ValueError(f'{description} is truncated: the JPEG ends before '
                         'its end-of-image marker (copy or download it '
                         'again)')
    with _failing_on_jpeg_damage(description):
        try:
            image = mmcv.imfrombytes(data, **imfrombytes_args)
        except cv2.error:  # colour conversion of an undecodable file
            image = None
        except OSError as error:  # the Pillow backend's complaints
            raise ValueError(f'{description} is not a readable image: '
                             f'{error}') from None
    if image is None:
        raise ValueError(f'{description} is not a readable image (empty or '
                         'corrupt file?)')
    return image


def read_checked_image(path: str) -> np.ndarray:
    """The (H, W, 3) uint8 BGR image in ``path``, with the checks of
    :func:`decode_checked` (for tools that read photos outside a
    pipeline)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'image {path} not found')
    with open(path, 'rb') as file:
        return decode_checked(file.read(), f'image {path}', flag='color')
