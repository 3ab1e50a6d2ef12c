"""``python -m sync`` is the ``creditsheet`` command."""

from sync.cli import main

main()
