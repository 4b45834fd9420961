"""Kemendagri region codes (eopen/data/wilayah_nasional.csv), loaded once and kept in memory.

Codes are in dotted form: province "32", kabupaten/kota "32.75", kecamatan "32.75.01".
"""
from __future__ import annotations

import csv
from functools import lru_cache
from importlib.resources import files

NATIONAL_FILE = "wilayah_nasional.csv"


@lru_cache(maxsize=1)
def _national() -> dict[str, dict[str, str]]:
    """Level ("provinsi", "kabupaten_kota", "kecamatan") -> {code: name}."""
    levels: dict[str, dict[str, str]] = {"provinsi": {}, "kabupaten_kota": {}, "kecamatan": {}}
    source = files("eopen") / "data" / NATIONAL_FILE
    with source.open("r", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            levels.setdefault(row["tingkat"].strip(), {})[row["kode"].strip()] = row["nama"].strip()
    return levels


def province_exists(code: str) -> bool:
    """`code` is two digits, e.g. "32"."""
    return code in _national()["provinsi"]


def kabupaten_exists(code: str) -> bool:
    """`code` is "PP.KK", e.g. "32.75" (Kota Bekasi)."""
    return code in _national()["kabupaten_kota"]


def kecamatan_exists(code: str) -> bool:
    """`code` is "PP.KK.CC", e.g. "32.75.01" (Bekasi Timur)."""
    return code in _national()["kecamatan"]


def kecamatan_name(code: str) -> str | None:
    return _national()["kecamatan"].get(code)
