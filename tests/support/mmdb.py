"""A minimal MaxMind DB (MMDB v2) writer for tests: IPv4 networks mapped to records of maps,
strings, doubles, unsigned integers and arrays, with 24-bit search-tree records. Enough to build
a small GeoIP City-shaped database that the real ``maxminddb`` reader opens
(https://maxmind.github.io/MaxMind-DB/)."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"


def _control(type_number: int, size: int) -> bytes:
    if type_number <= 7:
        first, extended = type_number << 5, b""
    else:
        first, extended = 0, bytes([type_number - 7])
    if size < 29:
        return bytes([first | size]) + extended
    if size < 29 + 256:
        return bytes([first | 29]) + extended + bytes([size - 29])
    if size < 285 + 65536:
        return bytes([first | 30]) + extended + (size - 285).to_bytes(2, "big")
    return bytes([first | 31]) + extended + (size - 65821).to_bytes(3, "big")


class Unsigned(int):
    """An unsigned integer of a fixed MMDB type (the metadata's fields are typed: readers such
    as libmaxminddb refuse a ``node_count`` that is not a uint32)."""

    type_number = 0


class U16(Unsigned):
    type_number = 5


class U32(Unsigned):
    type_number = 6


class U64(Unsigned):
    type_number = 9


def encode(value: Any) -> bytes:
    """One MMDB data-section value."""
    if isinstance(value, Unsigned):
        data = int(value).to_bytes((int(value).bit_length() + 7) // 8, "big") if value else b""
        return _control(value.type_number, len(data)) + data
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, str):
        data = value.encode("utf-8")
        return _control(2, len(data)) + data
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("unsigned integers only")
        data = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
        type_number = 5 if value < 1 << 16 else 6 if value < 1 << 32 else 9
        return _control(type_number, len(data)) + data
    if isinstance(value, dict):
        out = _control(7, len(value))
        for key, item in value.items():
            out += encode(str(key)) + encode(item)
        return out
    if isinstance(value, list | tuple):
        out = _control(11, len(value))
        for item in value:
            out += encode(item)
        return out
    raise TypeError(f"cannot encode {type(value).__name__}")


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]], database_type: str = "Test-City") -> Path:
    """Write ``networks`` (IPv4 CIDR -> record) to ``path`` as an IPv4 MMDB file."""
    nodes: list[list[Any]] = [[None, None]]  # each record: None, ("node", i) or ("data", offset)
    data = b""
    for cidr, record in networks.items():
        network = ipaddress.IPv4Network(cidr)
        offset = len(data)
        data += encode(record)
        bits = int(network.network_address)
        node = 0
        for depth in range(network.prefixlen):
            bit = (bits >> (31 - depth)) & 1
            if depth == network.prefixlen - 1:
                nodes[node][bit] = ("data", offset)
                break
            child = nodes[node][bit]
            if child is None or child[0] != "node":
                nodes.append([None, None])
                nodes[node][bit] = ("node", len(nodes) - 1)
                child = nodes[node][bit]
            node = child[1]
    count = len(nodes)

    def value(record: Any) -> int:
        if record is None:
            return count
        kind, number = record
        return number if kind == "node" else count + 16 + number

    tree = b"".join(value(left).to_bytes(3, "big") + value(right).to_bytes(3, "big") for left, right in nodes)
    metadata = {
        "node_count": U32(count),
        "record_size": U16(24),
        "ip_version": U16(4),
        "database_type": database_type,
        "languages": ["en"],
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(1_800_000_000),
        "description": {"en": "Keystead test GeoIP database"},
    }
    path.write_bytes(tree + b"\x00" * 16 + data + METADATA_MARKER + encode(metadata))
    return path


def city(latitude: float, longitude: float, country: str) -> dict[str, Any]:
    """A GeoIP2 City-shaped record."""
    return {"country": {"iso_code": country}, "location": {"latitude": latitude, "longitude": longitude}}
