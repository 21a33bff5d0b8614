"""shared/sodium.py: the libsodium binding the election's group is built on."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import elgamal, sodium

scalars = st.integers(min_value=0, max_value=elgamal.ORDER - 1)


def _le(value: int) -> bytes:
    return value.to_bytes(32, "little")


@given(scalars, scalars)
def test_scalar_arithmetic_is_arithmetic_mod_the_group_order(a: int, b: int) -> None:
    order = elgamal.ORDER
    assert sodium.scalar_add(_le(a), _le(b)) == _le((a + b) % order)
    assert sodium.scalar_sub(_le(a), _le(b)) == _le((a - b) % order)
    assert sodium.scalar_mul(_le(a), _le(b)) == _le(a * b % order)
    if a:
        assert sodium.scalar_invert(_le(a)) == _le(pow(a, -1, order))


@given(scalars.filter(bool), scalars.filter(bool))
def test_point_operations_agree_with_each_other(a: int, b: int) -> None:
    pa, pb = sodium.scalarmult_base(_le(a)), sodium.scalarmult_base(_le(b))
    assert sodium.scalarmult(_le(b), pa) == sodium.scalarmult(_le(a), pb)
    total = (a + b) % elgamal.ORDER
    if total:  # a + b = 0 would make P + Q the identity, which scalarmult_base refuses
        assert sodium.add(pa, pb) == sodium.scalarmult_base(_le(total))
        assert sodium.sub(sodium.add(pa, pb), pb) == pa


def test_refusals_raise_instead_of_returning_garbage() -> None:
    g = sodium.scalarmult_base(_le(1))
    with pytest.raises(ValueError):
        sodium.scalarmult_base(bytes(32))  # 0·G: libsodium refuses the identity
    with pytest.raises(ValueError):
        sodium.scalar_invert(bytes(32))
    with pytest.raises(ValueError):
        sodium.add(g, b"\xff" * 32)  # not an encoding
    with pytest.raises(ValueError):
        sodium.scalarmult(_le(2), g[:31])  # a short argument never reaches C
    assert not sodium.is_valid_point(b"\xff" * 32)
    assert not sodium.is_valid_point(g[:31])
    assert sodium.is_valid_point(g)


def test_group_operations_never_release_the_gil() -> None:
    """The reason the module exists (its docstring): a call that released the GIL would let
    another thread run, and in a gunicorn worker the seal then waits 5 ms to get it back.

    With the switch interval raised far beyond the test's length, no thread is ever
    preempted: the spinner thread can run only while the main thread gives the GIL up. The
    main thread then makes 300 group operations; if any released the GIL, the spinner,
    waiting for it, would run and count.
    """
    spins = 0
    running = True

    def spinner() -> None:
        nonlocal spins
        while running:
            spins += 1
            time.sleep(0)  # give the GIL back at once, so the main thread always gets it

    k, g = _le(12345), sodium.scalarmult_base(_le(1))
    previous = sys.getswitchinterval()
    thread = threading.Thread(target=spinner)
    sys.setswitchinterval(100.0)
    try:
        thread.start()
        while spins < 10:
            time.sleep(0.001)  # the spinner is running and waits on the GIL from now on
        before = spins
        for _ in range(100):
            p = sodium.scalarmult(k, g)
            p = sodium.add(p, g)
            sodium.scalar_mul(k, k)
        after = spins
    finally:
        running = False
        sys.setswitchinterval(previous)
        thread.join()
    assert p and after == before
