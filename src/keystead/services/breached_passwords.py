"""The offline list of common and breached passwords: a Bloom filter shipped with Keystead.

``keystead/data/common-passwords.bloom`` is built by ``scripts/build_password_filter.py`` from
Django's list of 20,000 common passwords (BSD licence; see docs/password-policy.md and NOTICE).
A Bloom filter answers "certainly not on the list" or "on the list, or a false positive": the
shipped file is sized for a false-positive rate of at most 1e-6, so about one password in a
million that is on no list is refused as common, and no password of the list ever passes.

A lookup normalises the password (:func:`normalise`: NFKC, case-folded, outer spaces removed, as
the list is lower-case), hashes it once with BLAKE2b and tests ``k`` bits derived from the two
halves of that digest (Kirsch-Mitzenmacher double hashing): O(k) work, no allocation beyond the
digest, nothing that blocks. The file is read once into memory (about 70 KB).

File format (little-endian): ``KSBLOOM\\x01``, bits ``m`` (u64), hash count ``k`` (u32), entries
``n`` (u32), then ``ceil(m / 8)`` bytes of bits, bit ``i`` at ``byte[i >> 3] >> (i & 7)``.
"""

from __future__ import annotations

import hashlib
import math
import struct
import unicodedata
from collections.abc import Iterable
from functools import cache
from importlib import resources

MAGIC = b"KSBLOOM\x01"
_HEADER = struct.Struct("<8sQII")
_PERSON = b"keystead-bloom"
SHIPPED_FILE = "common-passwords.bloom"


class BloomFormatError(ValueError):
    """The bytes are not a Bloom filter of this format."""


def normalise(password: str) -> str:
    """The form passwords are listed in: NFKC, case-folded, without outer whitespace."""
    return unicodedata.normalize("NFKC", password).casefold().strip()


def _positions(item: bytes, m: int, k: int) -> Iterable[int]:
    digest = hashlib.blake2b(item, digest_size=16, person=_PERSON).digest()
    h1 = int.from_bytes(digest[:8], "little")
    h2 = int.from_bytes(digest[8:], "little") | 1  # odd: never a zero step
    return ((h1 + i * h2) % m for i in range(k))


def optimal_size(n: int, false_positive_rate: float) -> tuple[int, int]:
    """Bits ``m`` (a multiple of 8) and hash count ``k`` for ``n`` entries at that rate."""
    if n < 1 or not 0 < false_positive_rate < 1:
        raise ValueError("n >= 1 and 0 < rate < 1")
    m = math.ceil(-n * math.log(false_positive_rate) / math.log(2) ** 2)
    m = (m + 7) // 8 * 8
    k = max(1, round(m / n * math.log(2)))
    while expected_rate(m, k, n) > false_positive_rate:  # k rounded to an integer: a few bytes more
        m += 64
        k = max(1, round(m / n * math.log(2)))
    return m, k


def expected_rate(m: int, k: int, n: int) -> float:
    """A Bloom filter's false-positive rate: ``(1 - e^(-kn/m))^k``."""
    return float((1 - math.exp(-k * n / m)) ** k)


class BloomFilter:
    """A read-only Bloom filter over bytes (:meth:`build` makes one, :meth:`to_bytes` saves it)."""

    __slots__ = ("_bits", "hashes", "items", "size")

    def __init__(self, bits: bytes, size: int, hashes: int, items: int) -> None:
        if size < 8 or hashes < 1 or len(bits) != (size + 7) // 8:
            raise BloomFormatError("inconsistent Bloom filter dimensions")
        self._bits = bits
        self.size = size
        self.hashes = hashes
        self.items = items

    @classmethod
    def build(cls, items: Iterable[bytes], false_positive_rate: float) -> BloomFilter:
        unique = sorted(set(items))
        size, hashes = optimal_size(len(unique), false_positive_rate)
        bits = bytearray(size // 8)
        for item in unique:
            for i in _positions(item, size, hashes):
                bits[i >> 3] |= 1 << (i & 7)
        return cls(bytes(bits), size, hashes, len(unique))

    @classmethod
    def from_bytes(cls, data: bytes) -> BloomFilter:
        if len(data) < _HEADER.size:
            raise BloomFormatError("too short for a Bloom filter")
        magic, size, hashes, items = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise BloomFormatError("not a Keystead Bloom filter (bad magic)")
        return cls(data[_HEADER.size :], size, hashes, items)

    def to_bytes(self) -> bytes:
        return _HEADER.pack(MAGIC, self.size, self.hashes, self.items) + self._bits

    def __contains__(self, item: bytes) -> bool:
        bits = self._bits
        return all(bits[i >> 3] >> (i & 7) & 1 for i in _positions(item, self.size, self.hashes))

    @property
    def false_positive_rate(self) -> float:
        """The expected rate for the entries it holds: ``(1 - e^(-kn/m))^k``."""
        return expected_rate(self.size, self.hashes, self.items)


class BreachedPasswords:
    """Is a password on the offline list? (:meth:`shipped`: the list Keystead ships.)"""

    __slots__ = ("_filter",)

    def __init__(self, bloom: BloomFilter) -> None:
        self._filter = bloom

    @classmethod
    def shipped(cls) -> BreachedPasswords:
        return _shipped()

    def __contains__(self, password: str) -> bool:
        return normalise(password).encode("utf-8", "surrogatepass") in self._filter

    @property
    def bloom(self) -> BloomFilter:
        return self._filter


@cache
def _shipped() -> BreachedPasswords:
    data = resources.files("keystead.data").joinpath(SHIPPED_FILE).read_bytes()
    return BreachedPasswords(BloomFilter.from_bytes(data))
