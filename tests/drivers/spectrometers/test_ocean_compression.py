"""Ocean Optics difference compression (`G1`), byte by byte, against the data sheet.

The data sheet's rule: the first pixel is a plain 16-bit word, MSB first; every later
pixel is one signed byte, its difference from the previous pixel, or 0x80 followed by the
full word when the difference does not fit (0x80 itself, -128, is the escape, so only
-127..127 fit). In the `k1` checksum a difference byte counts as 0x00NN and an escaped
pixel as 0x80 plus its word. Expected bytes are written out here by hand, and random
spectra are checked against a per-byte decoder written from that rule, not against the
codec's own inverse.
"""

from __future__ import annotations

import numpy as np
import pytest

from instrumentkit.drivers.oceaninsight import _serial_protocol as wire

# +127 and -127 fit one byte; -128 and +128 do not: 0x80 and the full word.
EDGES = [1000, 1127, 1000, 872, 1000]
EDGES_SENT = bytes.fromhex("03e8 7f 81 80 0368 80 03e8")
# 0x03E8 + 0x7F + 0x81 + (0x80 + 0x0368) + (0x80 + 0x03E8) = 3384
EDGES_CHECKSUM = 0x0D38


def decode_by_hand(data: bytes, pixels: int) -> tuple[list[int], int, int]:
    """The data sheet's rule, one byte at a time: (values, bytes used, checksum)."""
    values = [data[0] << 8 | data[1]]
    checksum = values[0]
    at = 2
    while len(values) < pixels:
        if data[at] == 0x80:
            word = data[at + 1] << 8 | data[at + 2]
            values.append(word)
            checksum += 0x80 + word
            at += 3
        else:
            values.append(values[-1] + (data[at] - 256 if data[at] > 127 else data[at]))
            checksum += data[at]
            at += 1
    return values, at, checksum & 0xFFFF


def test_the_difference_byte_holds_minus_127_to_127_and_0x80_escapes_the_rest():
    sent, checksum = wire.compress(np.array(EDGES))
    assert (sent, checksum) == (EDGES_SENT, EDGES_CHECKSUM)
    values, used, summed = wire.decompress(EDGES_SENT, len(EDGES))
    assert values.tolist() == EDGES
    assert values.dtype == np.uint16
    assert (used, summed) == (len(EDGES_SENT), EDGES_CHECKSUM)


def test_decoding_stops_at_the_last_pixel_whatever_follows():
    # The frame goes on with 0xFFFD and the checksum: not pixel data.
    values, used, summed = wire.decompress(EDGES_SENT + b"\xff\xfd\x0d\x38", len(EDGES))
    assert values.tolist() == EDGES
    assert (used, summed) == (len(EDGES_SENT), EDGES_CHECKSUM)


def test_a_frame_ending_in_escaped_pixels():
    counts = [0x1234, 0x0034, 0xFF00]  # two jumps: two escapes, the stream ends in one
    sent = bytes.fromhex("1234 80 0034 80 ff00")
    # 0x1234 + (0x80 + 0x0034) + (0x80 + 0xFF00) = 0x11268, modulo 2**16
    assert wire.compress(np.array(counts)) == (
        sent,
        0x1268,
    )
    values, used, summed = wire.decompress(sent, 3)
    assert values.tolist() == counts
    assert (used, summed) == (len(sent), 0x1268)


@pytest.mark.parametrize(
    ("received", "missing"),
    [
        (0, 6),  # first word and one byte for each of the 4 other pixels, at least
        (1, 5),
        (4, 2),
        (5, 1),
        (6, 2),  # 03e8 7f 81 80 03: the escape's low byte, then one more pixel
        (7, 1),  # the escape complete: one pixel left, one byte at least
        (8, 2),  # the last escape's word
        (9, 1),  # its low byte
    ],
)
def test_an_incomplete_stream_asks_for_what_is_surely_missing(received, missing):
    with pytest.raises(wire.NeedMoreBytes) as more:
        wire.decompress(EDGES_SENT[:received], len(EDGES))
    assert more.value.count == missing
    assert str(more.value) == f"{missing} more bytes needed"


def test_reading_what_is_asked_for_never_reads_past_the_stream():
    # Ask, read exactly that, ask again: how the driver reads a compressed frame.
    rng = np.random.default_rng(3)
    counts = np.clip(1000 + np.cumsum(rng.integers(-300, 300, 300)), 0, 65535)
    sent, _ = wire.compress(counts)
    received = sent[: len(counts) + 1]
    while True:
        try:
            values, used, _ = wire.decompress(received, len(counts))
        except wire.NeedMoreBytes as more:
            received += sent[len(received) : len(received) + more.count]
            assert len(received) <= len(sent)
        else:
            break
    np.testing.assert_array_equal(values, counts)
    assert used == len(received) == len(sent)


@pytest.mark.parametrize(
    ("sent", "pixels"),
    [
        ("0000 ff", 2),  # 0 then -1
        ("ffff 01", 2),  # 65535 then +1
        ("0005 80 fffe 7f", 3),  # an escaped 65534 then +127
    ],
)
def test_differences_that_leave_0_to_65535_are_refused_as_garbled(sent, pixels):
    with pytest.raises(ValueError, match=r"outside 0\.\.65535 \(garbled\)"):
        wire.decompress(bytes.fromhex(sent), pixels)


@pytest.mark.parametrize("seed", range(4))
def test_random_spectra_match_the_data_sheet_rule(seed):
    """Mixed small steps and jumps, 2048 pixels: long runs of both token kinds."""
    rng = np.random.default_rng(seed)
    steps = np.where(
        rng.random(2048) < 0.2, rng.integers(-3000, 3000, 2048), rng.integers(-127, 128, 2048)
    )
    counts = np.clip(30000 + np.cumsum(steps), 0, 65535)
    sent, checksum = wire.compress(counts)
    expected, used, summed = decode_by_hand(sent, counts.shape[0])
    assert expected == counts.tolist()
    assert (used, summed) == (len(sent), checksum)
    values, consumed, decoded_sum = wire.decompress(sent + b"\xff\xfd", counts.shape[0])
    assert values.tolist() == expected
    assert (consumed, decoded_sum) == (used, summed)


@pytest.mark.parametrize(
    ("counts", "sent"),
    [
        ([0x1234], "1234"),  # one pixel: the plain word alone
        ([1000, 5000, 5001], "03e8 801388 01"),  # an escape, then a difference byte last
    ],
)
def test_the_bytes_used_end_after_the_last_pixel(counts, sent):
    data = bytes.fromhex(sent)
    values, used, _ = wire.decompress(data + b"\xff\xfd", len(counts))
    assert values.tolist() == counts
    assert used == len(data)
