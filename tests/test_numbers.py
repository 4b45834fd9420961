"""Tracking numbers (eopen/services/numbers.py): short, unambiguous, forgiving when typed back."""
from __future__ import annotations

import re

import pytest

from eopen.services import numbers
from eopen.services.numbers import ALPHABET, new_tracking_no, normalise_tracking_no

SHAPE = re.compile(rf"EO-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}\Z")


def test_alphabet_has_no_lookalikes():
    for pair in ("0O", "1IL", "UV"):
        assert not set(pair) & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 29


def test_new_tracking_no_shape_and_length():
    for _ in range(200):
        code = new_tracking_no()
        assert SHAPE.match(code), code
        assert len(code) <= 12  # ServiceRequest.tracking_no is String(12)


def test_new_tracking_no_is_random():
    codes = {new_tracking_no() for _ in range(2000)}
    assert len(codes) == 2000
    used = set("".join(code[3:].replace("-", "") for code in codes))
    assert used == set(ALPHABET)  # every symbol shows up, none from outside


@pytest.mark.parametrize("typed", [
    "EO-7K3M-9QPD", "eo-7k3m-9qpd", "EO7K3M9QPD", "eo 7k3m 9qpd", "  EO - 7K3M - 9QPD ", "7K3M-9QPD",
    "7k3m9qpd", "E0-7K3M-9QPD", "eo.7k3m.9qpd", "EO-7K3-M9QPD",
])
def test_normalise_accepts_what_people_type(typed):
    assert normalise_tracking_no(typed) == "EO-7K3M-9QPD"


@pytest.mark.parametrize("typed", [
    None, "", "   ", "EO-7K3M-9QP", "EO-7K3M-9QPDX", "XX-7K3M-9QPD", "EO-7K3M-9QP!",
    # look-alikes whose partners are not in the alphabet either: the code never has them
    "EO-7K3M-9QP0", "EO-7K3M-9QPO", "EO-1K3M-9QPD", "EO-IK3M-9QPD", "EO-LK3M-9QPD", "EO-UK3M-9QPD",
    "EO-VK3M-9QPD",
])
def test_normalise_rejects_what_cannot_be_a_tracking_no(typed):
    assert normalise_tracking_no(typed) is None


def test_normalise_round_trips_generated_numbers():
    for _ in range(100):
        code = new_tracking_no()
        assert normalise_tracking_no(code) == code
        assert normalise_tracking_no(code.lower().replace("-", " ")) == code


def test_lookalikes_map_only_into_the_alphabet(monkeypatch):
    # With the shipped alphabet nothing is mapped; an alphabet that keeps one member of a pair maps
    # the other member to it (and only then).
    assert numbers.LOOKALIKES == {}
    monkeypatch.setattr(numbers, "ALPHABET", ALPHABET + "0")
    mapping = numbers._lookalikes()
    assert mapping == {"O": "0"}
    monkeypatch.setattr(numbers, "LOOKALIKES", mapping)
    assert normalise_tracking_no("eo-7k3m-9qpo") == "EO-7K3M-9QP0"
    assert normalise_tracking_no("eo-7k3m-9qpi") is None
