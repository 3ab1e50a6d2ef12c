"""The pure core of creditsheet: rows + today + settings -> desired state + events.

Nothing in this package does I/O or reads the clock; :func:`rules.engine.compute`
is the entry point.
"""
