"""``make bench``: how fast and how frugal a cycle is, from a solo practice to the ceiling.

The bench stands on the product's own code and imports nothing from ``tests/``.
For Google it starts the Sheets fake (``python -m tests.sheetsfake``) as a
separate server program on 127.0.0.1 and talks HTTP to it, as the backend talks
to Google; nothing of the fake runs in the measuring process.
"""
