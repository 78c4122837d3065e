"""The shipped Bloom filter of common passwords: every listed password hits, others miss."""

from __future__ import annotations

import gzip
import hashlib
import random
import string
from importlib import resources
from pathlib import Path

import pytest

from keystead.services.breached_passwords import (
    BloomFilter,
    BloomFormatError,
    BreachedPasswords,
    normalise,
    optimal_size,
)

SOURCE = Path(__file__).parent / "data" / "django-common-passwords.txt.gz"
#: as pinned in scripts/build_password_filter.py
FULLWIDTH_PASSWORD = "".join(chr(ord(c) + 0xFEE0) for c in "password")
SOURCE_SHA256 = "3c1baed62596de36860824eb3f436d5932d37ca8b06e59df78f5a44ec175afe4"


def _source() -> list[str]:
    data = SOURCE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SOURCE_SHA256
    return [line for line in gzip.decompress(data).decode().splitlines() if line.strip()]


def test_every_password_of_the_source_list_is_on_the_shipped_filter():
    shipped = BreachedPasswords.shipped()
    listed = _source()
    assert len(listed) > 19_000
    missing = [p for p in listed if p not in shipped]
    assert missing == []
    # lookups are case- and width-insensitive, as the list is lower-case
    assert "PassWord" in shipped and " qwerty " in shipped and FULLWIDTH_PASSWORD in shipped


def test_random_strings_miss():
    shipped = BreachedPasswords.shipped()
    rng = random.Random(20261129)
    alphabet = string.ascii_letters + string.digits + "!#$%&*+-=?@^_"
    sample = ["".join(rng.choices(alphabet, k=rng.randint(10, 24))) for _ in range(20_000)]
    # at 1e-6 the chance that any of 20,000 misses turns into a hit is about 2%; seeded: stable
    assert [s for s in sample if s in shipped] == []


def test_the_shipped_file_is_what_the_build_script_makes_of_the_source():
    shipped = resources.files("keystead.data").joinpath("common-passwords.bloom").read_bytes()
    rebuilt = BloomFilter.build((normalise(p).encode() for p in _source()), 1e-6)
    assert rebuilt.to_bytes() == shipped
    bloom = BloomFilter.from_bytes(shipped)
    assert bloom.false_positive_rate <= 1e-6
    assert len(shipped) < 100_000  # compact: about 70 KB
    assert (bloom.items, bloom.hashes) == (19_640, 20)


def test_a_filter_round_trips_and_holds_what_it_was_built_from():
    items = [f"item-{i}".encode() for i in range(500)]
    bloom = BloomFilter.from_bytes(BloomFilter.build(items, 1e-4).to_bytes())
    assert all(i in bloom for i in items)
    assert sum(f"other-{i}".encode() in bloom for i in range(10_000)) <= 5
    assert bloom.items == 500 and bloom.false_positive_rate <= 1e-4


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"KSBLOOM\x01",
        b"NOTBLOOM" + bytes(16) + bytes(8),
        b"KSBLOOM\x01" + (64).to_bytes(8, "little") + bytes(8),
    ],
    ids=["empty", "header-only", "bad-magic", "bits-missing"],
)
def test_malformed_files_are_refused(data: bytes):
    with pytest.raises(BloomFormatError):
        BloomFilter.from_bytes(data)


def test_sizes_follow_the_textbook_formulas():
    m, k = optimal_size(19_640, 1e-6)
    assert m % 8 == 0 and 560_000 < m < 570_000 and k == 20
    with pytest.raises(ValueError, match="rate"):
        optimal_size(10, 1.5)
