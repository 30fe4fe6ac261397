"""The fuzz harness itself: a child that aborts, hangs, over-allocates or fails is reported, never fatal."""

from __future__ import annotations

import os
import time

import pytest

from tests.fuzz import in_child


def test_an_abort_is_a_failure_not_the_end_of_the_run() -> None:
    with pytest.raises(AssertionError, match="died of SIGABRT"):
        in_child(os.abort)


def test_a_hang_is_a_failure() -> None:
    with pytest.raises(AssertionError, match="HangError: no result after 1 s"):
        in_child(lambda: time.sleep(30), seconds=1)


def test_a_big_allocation_is_a_memory_error() -> None:
    with pytest.raises(AssertionError, match="MemoryError"):
        in_child(lambda: bytearray(2 << 30), memory_mb=256)


def test_a_failure_carries_the_childs_traceback() -> None:
    def fail() -> None:
        raise ValueError("from the child")

    with pytest.raises(AssertionError, match="ValueError: from the child"):
        in_child(fail)
    in_child(lambda: None)  # and success is silent
