"""Python's cyclic garbage collector paused around work that frees nothing until it ends.

Reading a workbook and working it out allocate a few objects per cell that live
until the cycle ends, so an automatic collection in between walks the whole heap
and finds nothing to free. Both the xlsx read and the cycle use this.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the rules work a workbook out.

    Parsing and deciding allocate a few objects per cell and free nothing until the
    cycle ends, so every automatic collection walks the whole heap (the workbook as
    read included) and finds nothing to free: about a third of the rules' CPU at 100k
    sessions. The collector is back on (if it was) as soon as they are done.

    What was allocated meanwhile is moved to the oldest generation on the way out
    (``gc.freeze`` then ``gc.unfreeze``): left in the youngest, the first
    collection after the pause would walk all of it at once (0.5-0.7 s at a
    million sessions) and free nothing. In the oldest generation it is walked only
    by the collector's rare full collections, as any long-lived object is, and
    garbage with cycles among it is still collected then.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_on:
            gc.enable()
