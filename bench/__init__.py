"""``make bench``: how fast and how frugal a cycle is, from a solo practice to the ceiling."""
