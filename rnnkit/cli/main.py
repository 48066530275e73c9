"""The ``rnnkit`` command: one typer app, one module per command group."""

from __future__ import annotations

import sys

import typer

import rnnkit

app = typer.Typer(
    name="rnnkit",
    help="Recurrent neural networks you can see inside.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_groups() -> None:
    # command groups: one module each under rnnkit/cli/, one line each here
    from rnnkit.cli import (
        caption,
        chat,
        classify,
        diagnose,
        experiment,
        forecast,
        generate,
        summarize,
        tag,
        translate,
    )
    from rnnkit.cli.export import export
    from rnnkit.cli.report import report

    app.command(name="report")(report)
    app.command(name="export")(export)
    app.add_typer(forecast.app, name="forecast")
    app.add_typer(experiment.app, name="experiment")
    app.add_typer(diagnose.app, name="diagnose")
    app.add_typer(classify.app, name="classify")
    app.add_typer(translate.app, name="translate")
    app.add_typer(caption.app, name="caption")
    app.add_typer(generate.app, name="generate")
    app.add_typer(tag.app, name="tag")
    app.add_typer(summarize.app, name="summarize")
    app.add_typer(chat.app, name="chat")


_register_groups()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnnkit {rnnkit.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Recurrent neural networks you can see inside."""


def main(argv: list[str] | None = None) -> int:
    """Run the app and return its exit code: bad input is one red line on stderr and code 2."""
    from rnnkit.errors import InputError, TrainingDiverged

    try:
        app(args=argv, standalone_mode=True)  # usage errors: click prints them, exit code 2
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    except InputError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        return 2
    except TrainingDiverged as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        return 3
    except FileNotFoundError as err:
        typer.secho(f"error: no such file: {err.filename}", fg="red", err=True)
        return 2
    return 0


def run() -> None:
    """The installed ``rnnkit`` script: exit with `main`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    run()
