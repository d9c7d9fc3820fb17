"""The RS-232 command set of Ocean Optics USB2000+/USB4000/HR4000-class spectrometers.

Bytes only, no I/O: both the driver and the simulated instrument use these functions, and
the driver's tests pin them to literal bytes. From the vendor's data sheets ("RS232
Command Summary", shared with the SAD500 serial interface the later models follow):

- A command is one ASCII letter followed by its data words. In binary mode (the power-up
  default, entered with the two bytes `bB`) every word is an unsigned 16-bit integer sent
  MSB first. The instrument answers ACK (0x06) to an accepted command and NAK (0x15) to a
  refused one (unknown command, value out of range). Queries `?<letter>` answer ACK and
  one word.
- `S` acquires: the instrument sends STX (0x02) once the spectrum is taken, then a frame
  of words: 0xFFFF, data-size flag (0 = 16-bit WORD pixels, 1 = 32-bit DWORD pixels, used
  when scans are accumulated), scans accumulated, integration time in ms, baseline MSW,
  baseline LSW, pixel mode, [pixel mode parameters], pixel data, 0xFFFD. ETX (0x03)
  instead of STX means the scan could not be taken.
- `k1` appends a 16-bit checksum: the unsigned sum, modulo 2**16, of the values sent.
- `G1` compresses: the first pixel is sent as a plain word, every later pixel either as
  one signed byte (the difference from the previous pixel) or as 0x80 followed by the
  full word. In the checksum a compressed pixel counts as its bytes read as one number:
  a difference byte as 0x00NN, an escaped pixel as 0x80 plus its word.

Not confirmed from the manuals, and so choices of this module (see docs/drivers):
the byte order of DWORD pixels (taken as most significant word first, like the baseline
pair in the header), where the checksum word sits (taken as after 0xFFFD), whether
DWORD data is ever compressed (taken as never), and the EEPROM read used for the
wavelength calibration (`?x` + slot word, answered by ACK and 16 ASCII bytes padded with
NUL, by analogy with the USB "query information" reply; slots 0 = serial number,
1..4 = wavelength coefficients of order 0..3).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ACK",
    "ETX",
    "FRAME_END",
    "FRAME_START",
    "HEADER_BYTES",
    "NAK",
    "STX",
    "FrameHeader",
    "NeedMoreBytes",
    "command",
    "compress",
    "decompress",
    "eeprom_text",
    "encode_frame",
    "parse_eeprom_text",
    "parse_header",
    "parse_pixels",
    "pixel_checksum",
]

ACK = 0x06
NAK = 0x15
STX = 0x02
ETX = 0x03
FRAME_START = 0xFFFF
FRAME_END = 0xFFFD
HEADER_WORDS = 7
HEADER_BYTES = 2 * HEADER_WORDS
EEPROM_TEXT_BYTES = 16
ESCAPE = 0x80

_WORD = struct.Struct(">H")


def command(letter: str, *words: int) -> bytes:
    """The bytes of a binary-mode command: letter(s) then each word MSB first."""
    for word in words:
        if not 0 <= word <= 0xFFFF:
            raise ValueError(f"data word {word} does not fit 16 bits")
    return letter.encode("ascii") + struct.pack(f">{len(words)}H", *words)


class FrameHeader(NamedTuple):
    """The seven header words of a spectrum frame (a tuple: built once per spectrum)."""

    dword_pixels: bool
    scans: int
    integration_ms: int
    baseline: int
    pixel_mode: int


_HEADER = struct.Struct(f">{HEADER_WORDS}H")
_BIG_ENDIAN = {False: np.dtype(">u2"), True: np.dtype(">u4")}


def parse_header(data: bytes | bytearray | memoryview) -> FrameHeader:
    """Decode the 14 header bytes; ValueError says what is wrong with them."""
    words = _HEADER.unpack_from(data)
    start, size_flag, scans, integration_ms, baseline_msw, baseline_lsw, pixel_mode = words
    if start != FRAME_START:
        raise ValueError(f"frame starts with 0x{start:04X}, not 0xFFFF")
    if size_flag not in (0, 1):
        raise ValueError(f"data-size flag is {size_flag}, not 0 (WORD) or 1 (DWORD)")
    return FrameHeader(
        size_flag == 1, scans, integration_ms, (baseline_msw << 16) | baseline_lsw, pixel_mode
    )


def parse_pixels(
    data: bytes | bytearray | memoryview, dword: bool, count: int, offset: int
) -> NDArray[np.uint32]:
    """`count` uncompressed big-endian pixel words (or dwords) from `offset` on, a view of
    `data` (no copy)."""
    return np.frombuffer(data, dtype=_BIG_ENDIAN[dword], count=count, offset=offset)


def pixel_checksum(values: NDArray[np.integer]) -> int:
    """Sum modulo 2**16 of the values sent (uncompressed frames)."""
    return int(values.sum(dtype=np.uint64)) & 0xFFFF


def encode_frame(
    counts: NDArray[np.integer],
    *,
    scans: int,
    integration_ms: int,
    baseline: int = 0,
    compressed: bool = False,
    with_checksum: bool = False,
) -> bytes:
    """STX and a whole frame, as the instrument sends it (used by the simulation)."""
    dword = scans > 1
    header = struct.pack(
        f">{HEADER_WORDS}H",
        FRAME_START,
        int(dword),
        scans,
        integration_ms,
        (baseline >> 16) & 0xFFFF,
        baseline & 0xFFFF,
        0,
    )
    if compressed and not dword:
        data, checksum = compress(counts)
    else:
        values = np.asarray(counts).astype(">u4" if dword else ">u2")
        data, checksum = values.tobytes(), pixel_checksum(values)
    trailer = _WORD.pack(FRAME_END) + (_WORD.pack(checksum) if with_checksum else b"")
    return bytes([STX]) + header + data + trailer


def compress(counts: NDArray[np.integer]) -> tuple[bytes, int]:
    """Difference-compress 16-bit pixels; returns the bytes and their checksum."""
    values = np.asarray(counts, dtype=np.int64)
    steps = np.diff(values)
    small = np.abs(steps) <= 127  # -128 would be the escape byte itself
    lengths = np.where(small, 1, 3)
    out = np.empty(2 + int(lengths.sum()), dtype=np.uint8)
    out[0], out[1] = values[0] >> 8, values[0] & 0xFF
    offsets = 2 + np.concatenate(([0], np.cumsum(lengths)[:-1]))
    out[offsets[small]] = steps[small].astype(np.int8).view(np.uint8)
    escaped = offsets[~small]
    full = values[1:][~small]
    out[escaped] = ESCAPE
    out[escaped + 1] = full >> 8
    out[escaped + 2] = full & 0xFF
    checksum = (
        int(values[0]) + int(out[offsets[small]].sum(dtype=np.int64)) + int((ESCAPE + full).sum())
    ) & 0xFFFF
    return out.tobytes(), checksum


class NeedMoreBytes(Exception):
    """A compressed stream is incomplete: at least `count` more bytes are needed."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} more bytes needed")
        self.count = count


def _token_starts(body: NDArray[np.uint8], tokens: int) -> NDArray[np.intp]:
    """Start offsets of the first `tokens` compressed pixels, found without a Python loop
    per byte: each offset points to the next (1 byte on, or 3 after an escape) and the
    path from offset 0 is collected by pointer doubling, log2(tokens) NumPy passes."""
    n = body.shape[0]
    successor = np.append(np.minimum(np.arange(n) + np.where(body == ESCAPE, 3, 1), n), n)
    on_path = np.zeros(n + 1, dtype=bool)
    on_path[0] = True
    reach = 1
    while reach < tokens:
        on_path[successor[on_path]] = True
        successor = successor[successor]
        reach *= 2
    return np.flatnonzero(on_path[:n])[:tokens]


def decompress(
    data: bytes | bytearray | memoryview, pixels: int
) -> tuple[NDArray[np.uint16], int, int]:
    """Decode `pixels` compressed values from the start of `data`.

    Returns (counts, bytes consumed, checksum). Raises NeedMoreBytes with a lower bound
    of what is missing, so a reader can ask for exactly that much and never over-read.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.shape[0] < 2 + (pixels - 1):
        raise NeedMoreBytes(2 + (pixels - 1) - raw.shape[0])
    first = (int(raw[0]) << 8) | int(raw[1])
    body = raw[2:]
    starts = _token_starts(body, pixels - 1)
    incomplete = 0
    if starts.size and body[starts[-1]] == ESCAPE and starts[-1] + 2 >= body.shape[0]:
        incomplete = int(starts[-1]) + 3 - body.shape[0]
        starts = starts[:-1]
        missing = pixels - 1 - starts.size - 1
    else:
        missing = pixels - 1 - starts.size
    if incomplete or missing:
        raise NeedMoreBytes(incomplete + missing)
    leads = body[starts]
    escaped = leads == ESCAPE
    safe = np.minimum(starts + 2, body.shape[0] - 1)
    full = (body[np.minimum(starts + 1, body.shape[0] - 1)].astype(np.int64) << 8) | body[safe]
    steps = leads.view(np.int8).astype(np.int64)
    is_reset = np.concatenate(([True], escaped))
    absolute = np.concatenate(([first], np.where(escaped, full, 0)))
    running = np.cumsum(np.concatenate(([0], np.where(escaped, 0, steps))))
    last_reset = np.maximum.accumulate(np.where(is_reset, np.arange(pixels), 0))
    values = absolute[last_reset] + running - running[last_reset]
    if values.min() < 0 or values.max() > 0xFFFF:
        raise ValueError("compressed data decodes to values outside 0..65535 (garbled)")
    consumed = 2 + (int(starts[-1]) + (3 if escaped[-1] else 1) if starts.size else 0)
    checksum = (
        first + int(np.where(escaped, ESCAPE + full, leads.astype(np.int64)).sum())
    ) & 0xFFFF
    return values.astype(np.uint16), consumed, checksum


def eeprom_text(value: str) -> bytes:
    """An EEPROM slot as the instrument sends it: 16 ASCII bytes, NUL padded."""
    encoded = value.encode("ascii")[:EEPROM_TEXT_BYTES]
    return encoded.ljust(EEPROM_TEXT_BYTES, b"\x00")


def parse_eeprom_text(data: bytes) -> str:
    """The text of an EEPROM slot reply (up to the first NUL, blanks stripped)."""
    return data.split(b"\x00", 1)[0].decode("ascii", errors="replace").strip()
