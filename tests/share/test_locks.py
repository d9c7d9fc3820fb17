"""The share's lock table against VISA's lock rules, without a network: who may take which
lock, who may reach the instrument while locks are held, and what a release frees."""

from __future__ import annotations

import threading

import pytest

from instrumentkit.share._locks import LockTable

A, B, C = 1, 2, 3


def never() -> bool:
    return False


def always() -> bool:
    return True


def test_an_exclusive_lock_keeps_every_other_client_out() -> None:
    locks = LockTable()
    assert not locks.held
    assert locks.request(A, "", 0, never) is True
    assert locks.held
    assert locks.exclusive_held()
    assert locks.holds(A) == "exclusive"
    assert locks.holds(B) is None
    assert locks.request(B, "", 0, never) is False
    assert locks.request(B, "key", 0, never) is False
    assert locks.wait_for_access(A, always) is True
    assert locks.wait_for_access(B, always) is False
    assert locks.holders() == 1


def test_shared_locks_with_one_key_admit_their_holders_only() -> None:
    locks = LockTable()
    assert locks.request(A, "scope", 0, never) is True
    assert locks.request(B, "scope", 0, never) is True
    assert not locks.exclusive_held()
    assert locks.holds(B) == "shared"
    assert locks.holders() == 2
    assert locks.request(C, "other", 0, never) is False  # another key
    assert locks.request(C, "", 0, never) is False  # exclusive while others share
    assert locks.wait_for_access(A, always)
    assert locks.wait_for_access(B, always)
    assert locks.wait_for_access(C, always) is False


def test_a_lone_shared_holder_may_also_lock_exclusively() -> None:
    locks = LockTable()
    assert locks.request(A, "k", 0, never) is True
    assert locks.request(A, "", 0, never) is True
    assert locks.holds(A) == "exclusive"
    assert locks.holders() == 1  # one client holding both
    assert locks.request(B, "k", 0, never) is False  # the exclusive lock is A's
    # The exclusive lock goes first, then the shared one.
    assert locks.release(A) == "exclusive"
    assert locks.holds(A) == "shared"
    assert locks.request(B, "k", 0, never) is True
    assert locks.release_all(A) == ["shared"]
    assert locks.holders() == 1


def test_the_exclusive_holder_may_join_a_shared_key() -> None:
    locks = LockTable()
    assert locks.request(A, "", 0, never) is True
    assert locks.request(A, "k", 0, never) is True
    assert locks.holders() == 1
    assert locks.release_all(A) == ["exclusive", "shared"]
    assert not locks.held
    assert locks.release(A) is None


def test_asking_again_for_a_lock_held_is_invalid() -> None:
    locks = LockTable()
    assert locks.request(A, "", 0, never) is True
    assert locks.request(A, "", 5.0, never) is None
    assert locks.request(B, "k", 0, never) is False
    assert locks.release(A) == "exclusive"
    assert locks.request(B, "k", 0, never) is True
    assert locks.request(B, "k", 5.0, never) is None
    assert locks.request(B, "j", 5.0, never) is None  # a second key for one client


def test_any_session_number_counts_as_a_holder() -> None:
    locks = LockTable()
    assert locks.request(0, "", 0, never) is True
    assert locks.holders() == 1


def test_with_no_lock_everyone_has_access_and_nothing_is_released() -> None:
    locks = LockTable()
    assert locks.wait_for_access(A, always) is True
    assert locks.holders() == 0
    assert locks.holds(A) is None
    assert locks.release(A) is None
    assert locks.release_all(A) == []


def test_a_request_waits_for_the_release_within_its_timeout() -> None:
    locks = LockTable()
    assert locks.request(A, "", 0, never) is True
    result: list[bool | None] = []
    waiting = threading.Thread(target=lambda: result.append(locks.request(B, "", 60, never)))
    waiting.start()
    assert locks.release(A) == "exclusive"
    waiting.join(30)
    assert result == [True]
    assert locks.holds(B) == "exclusive"


def test_a_blocked_client_reaches_the_instrument_once_the_lock_goes() -> None:
    locks = LockTable()
    assert locks.request(A, "k", 0, never) is True
    result: list[bool] = []
    waiting = threading.Thread(target=lambda: result.append(locks.wait_for_access(B, never)))
    waiting.start()
    assert locks.release(A) == "shared"
    waiting.join(30)
    assert result == [True]


@pytest.mark.parametrize("timeout", [0.0, -1.0])
def test_a_lock_not_grantable_at_once_fails_without_waiting(timeout: float) -> None:
    locks = LockTable()
    assert locks.request(A, "", 0, never) is True
    assert locks.request(B, "", timeout, never) is False


def test_a_client_that_goes_away_stops_waiting() -> None:
    locks = LockTable()
    assert locks.request(A, "", 0, never) is True
    assert locks.request(B, "", 60, always) is False
    assert locks.holds(B) is None


def test_a_lock_freed_while_waiting_is_granted_within_a_short_timeout() -> None:
    locks = LockTable()
    assert locks.request(A, "", 0, never) is True
    asked: list[int] = []

    def holder_leaves() -> bool:  # consulted while B waits: A releases meanwhile
        asked.append(1)
        locks.release(A)
        return False

    assert locks.request(B, "", 0.5, holder_leaves) is True
    assert asked


def test_a_zero_timeout_never_waits() -> None:
    locks = LockTable()
    assert locks.request(A, "", 0, never) is True

    def waited() -> bool:
        raise AssertionError("a request with timeout 0 waited")

    assert locks.request(B, "", 0, waited) is False


@pytest.mark.parametrize("waiting_for", ["lock", "access"])
def test_a_waiter_whose_client_closes_stops_without_being_notified(waiting_for: str) -> None:
    locks = LockTable()
    assert locks.request(A, "", 0, never) is True
    closed = threading.Event()
    result: list[bool | None] = []
    if waiting_for == "lock":
        target = lambda: result.append(locks.request(B, "", 600, closed.is_set))  # noqa: E731
    else:
        target = lambda: result.append(locks.wait_for_access(B, closed.is_set))  # noqa: E731
    waiting = threading.Thread(target=target, daemon=True)
    waiting.start()
    closed.set()  # no release, no notify: the waiter must see it on its own
    waiting.join(30)
    assert result == [False]
