"""The one error type for bad user input: the CLI turns it into one line on stderr and exit 2."""


class InputError(ValueError):
    """Bad input from a user: its message says what was wrong, where, and how to fix it."""


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; the message names the epoch."""
