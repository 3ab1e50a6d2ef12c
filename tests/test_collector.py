"""What the collector pause leaves behind: nothing for the next young collection to walk."""

from __future__ import annotations

import gc
import weakref

from sync.collector import collector_paused


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_what_the_pause_allocated_is_old_not_left_for_the_next_young_collection() -> None:
    gc.collect()
    with collector_paused():
        kept = [[i] for i in range(10_000)]
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(row) in oldest for row in kept)
    assert gc.get_freeze_count() == 0, "nothing stays frozen out of the collector's reach"


def test_garbage_with_cycles_made_in_the_pause_is_still_collected() -> None:
    with collector_paused():
        node = _Node()
    gone = weakref.ref(node)
    del node
    assert gone() is not None, "a cycle is freed only by the collector"
    gc.collect()
    assert gone() is None
