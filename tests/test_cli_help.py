"""Every command's help, and each group's, shows an example of it."""

from __future__ import annotations

import click
from click.testing import CliRunner

from sync.cli import cli


def commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_every_command_and_group_has_an_example_in_its_help() -> None:
    names = commands(cli)
    assert ("sync",) in names and ("balance", "rotate") in names
    for path in names:
        shown = CliRunner().invoke(cli, [*path, "--help"])
        assert shown.exit_code == 0, path
        example = shown.output.split("Example:\n", 1)
        assert len(example) == 2, f"creditsheet {' '.join(path)} --help has no example"
        assert example[1].lstrip().startswith("creditsheet "), path
