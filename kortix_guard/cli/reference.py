"""The command-line reference in docs/cli.md, generated from the click commands themselves."""
from __future__ import annotations

import inspect

import click

from kortix_guard.cli.main import cli


def text() -> str:
    """Every command's usage, help and options, from the click commands themselves."""
    out: list[str] = []

    def walk(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        ctx = click.Context(command, info_name=path[-1], parent=parent, terminal_width=100,
                            max_content_width=100, **command.context_settings)
        name = " ".join(path)
        out.append(f"### `{name}`\n\n```\n{command.get_usage(ctx)}\n```\n")
        # cleandoc, as click does when it prints help: Python 3.13 dedents docstrings when it
        # compiles them, earlier versions keep the indentation (a code block in Markdown).
        help_text = inspect.cleandoc(command.help or "").strip()
        if help_text:
            out.append(help_text + "\n")
        rows = []
        for param in command.get_params(ctx):
            # Options only: arguments are in the usage line (click 8.2.0 also gave arguments
            # a help record; later releases do not).
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record:
                meaning = record[1].replace("|", "\\|")
                rows.append(f"| `{record[0]}` | {meaning} |")
        if rows:
            out.append("| option | meaning |\n|---|---|\n" + "\n".join(rows) + "\n")
        if isinstance(command, click.Group):
            for sub in sorted(command.list_commands(ctx)):
                child = command.get_command(ctx, sub)
                if child is not None:
                    walk(child, [*path, sub], ctx)

    walk(cli, ["kortix-guard"], None)
    return "\n".join(out)
