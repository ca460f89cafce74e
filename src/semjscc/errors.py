"""Errors a user can fix. Each message is one line naming the problem and the fix; the CLI
prints it without a traceback."""


class SemjsccError(Exception):
    """Base class of user-facing errors."""


class ConfigError(SemjsccError, ValueError):
    """Bad configuration key or value."""


class CheckpointError(SemjsccError, RuntimeError):
    """A checkpoint that cannot be used."""


class InputError(SemjsccError, ValueError):
    """An input file that is missing, of the wrong type, not UTF-8, or beyond a parser's
    limits."""


def first_line(exc: BaseException) -> str:
    """The first non-blank line of ``exc``'s message, or its type name when it has none."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def describe(exc: BaseException) -> str:
    """``"TypeName: first line"`` of ``exc``, for the parenthesis of a one-line error."""
    return f"{type(exc).__name__}: {first_line(exc)}"
