"""Render the CLI reference (docs/cli.md) from the commands themselves, so it cannot drift."""

from __future__ import annotations

from typing import Any

import typer


def render(app: typer.Typer) -> str:
    """Markdown for every command and sub-command of ``app``, in the order ``--help`` lists them."""
    root = typer.main.get_command(app)
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands by `make docs` (`python -m pollwatch.cli.reference > docs/cli.md`);",
        "a test fails when this file and the commands disagree. Every command also has `--help`.",
        "",
        "Conventions: a command that works on one stored election names it with `--election SLUG`",
        "(the slug `pollwatch elections` lists); commands that read results can instead read a dataset",
        "from files with `--dataset NAME`. Results name candidates by name and party and always keep",
        "their ballot position.",
        "",
    ]
    for path, command in _walk(root, ("pollwatch",)):
        lines.extend(_command(path, command))
    return "\n".join(lines).rstrip() + "\n"


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    # typer vendors its own click, so groups and options are recognised by what they do, not their class.
    if not hasattr(command, "list_commands"):
        return [(path, command)]
    out: list[tuple[tuple[str, ...], Any]] = []
    ctx = typer.Context(command)
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            out.extend(_walk(sub, (*path, name)))
    return out


def _command(path: tuple[str, ...], command: Any) -> list[str]:
    shown = [p for p in command.params if not getattr(p, "hidden", False)]
    arguments = [p for p in shown if p.param_type_name == "argument"]
    usage = " ".join([*path, *(str(a.name).upper() for a in arguments), "[OPTIONS]"])
    lines = [
        f"## `{' '.join(path)}`",
        "",
        (command.help or "").strip().split("\n\n")[0],
        "",
        "```",
        usage,
        "```",
        "",
    ]
    rows = [_param_row(p) for p in shown if p.name != "help"]
    if rows:
        lines += ["| parameter | default | help |", "|---|---|---|", *rows, ""]
    return lines


def _param_row(param: Any) -> str:
    if param.param_type_name == "option":
        names = ", ".join(f"`{o}`" for o in (*param.opts, *param.secondary_opts))
        help_text = param.help or ""
    else:
        names = f"`{str(param.name).upper()}`"
        help_text = getattr(param, "help", "") or ""
    default = param.default
    shown = "" if default is None or callable(default) or param.required else f"`{_plain(default)}`"
    return f"| {names} | {shown} | {help_text.replace('|', '/')} |"


def _plain(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(getattr(value, "value", value))


if __name__ == "__main__":  # pragma: no cover
    from pollwatch.cli.main import app as _app

    typer.echo(render(_app), nl=False)
