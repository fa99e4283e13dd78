"""Every command of the command line, and every option of it, explains itself with an example.

The convention: a command's help has a line ``Example: vsvrisk COMMAND ...`` that parses as a
valid command line; an option's help ends with ``e.g. --OPTION VALUE`` naming that option. The
commands are walked from the typer app itself, so a new command or option is checked too.
``--help`` (added by click to every command, or by a group's callback: ``_cli_checks.GroupHelp``) is
the one option exempt.
"""

from __future__ import annotations

import re
import shlex

import pytest
import typer

from vsvrisk.cli import _expand_multi_value_options, app, main

GROUP = typer.main.get_command(app)


def _walk(group, prefix=()):
    """Every command by its words (``policy path``), the commands of a group (``policy``) too."""
    for name, command in group.commands.items():
        yield " ".join((*prefix, name)), command
        if hasattr(command, "commands"):
            yield from _walk(command, (*prefix, name))


COMMAND_OBJECTS = dict(_walk(GROUP))
COMMANDS = sorted(COMMAND_OBJECTS)
EXAMPLE = re.compile(r"^\s*Example: (vsvrisk .+)$", re.MULTILINE)


def _options(command) -> list:
    """The command's options but --help."""
    return [p for p in command.params if p.opts != ["--help"]]


def test_there_are_commands_to_check():
    assert {"synth", "demo", "train", "compare", "explain", "allocate", "audit", "impact", "card", "ui"} <= set(COMMANDS)


def test_the_top_level_help_has_an_example(capsys):
    assert "Example: vsvrisk" in GROUP.help
    assert main(["--help"]) == 0
    printed = capsys.readouterr().out
    assert "Example: vsvrisk demo" in printed
    assert all(name in printed for name in GROUP.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_ends_with_an_example_of_itself(name):
    command = COMMAND_OBJECTS[name]
    for param in _options(command):
        assert param.param_type_name == "option", f"{name}: {param.name} is an argument; use an option with help"
        flags = [*param.opts, *param.secondary_opts]
        text = " ".join((param.help or "").split())
        assert "e.g. " in text, f"vsvrisk {name} {flags[0]}: the help has no example ('e.g. {flags[0]} ...')"
        example = text.rsplit("e.g. ", 1)[1]
        assert example.split()[0] in flags, f"vsvrisk {name} {flags[0]}: the example should use the option: {example!r}"
        assert len(example.split()) <= 3, f"vsvrisk {name} {flags[0]}: the example should end the help: {example!r}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_an_example_that_parses(name):
    command = COMMAND_OBJECTS[name]
    examples = EXAMPLE.findall(command.help or "")
    assert examples, f"vsvrisk {name}: the help has no 'Example: vsvrisk {name} ...' line"
    for example in examples:
        words = shlex.split(example)
        path = name.split()
        assert words[:1 + len(path)] == ["vsvrisk", *path], example
        rest, target, target_name = words[1 + len(path):], command, path[-1]
        while hasattr(target, "commands"):  # a group's example goes on to one of its commands
            target_name, rest = rest[0], rest[1:]
            target = target.commands[target_name]
        # parse only (nothing runs): every option named exists and every value has the right type
        with target.make_context(target_name, _expand_multi_value_options(rest)) as context:
            assert context.params


@pytest.mark.parametrize("name", COMMANDS)
def test_help_prints_the_example_and_every_option_example(name, capsys):
    assert main([*name.split(), "--help"]) == 0
    printed = capsys.readouterr().out
    assert "Example:" in printed
    options = [p for p in _options(COMMAND_OBJECTS[name]) if p.param_type_name == "option"]
    assert printed.count("e.g.") >= len(options)
