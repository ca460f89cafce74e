"""Errors a user can fix. Each message is one line naming the problem and the fix; the CLI
prints it without a traceback."""


class SemjsccError(Exception):
    """Base class of user-facing errors."""


class ConfigError(SemjsccError, ValueError):
    """Bad configuration key or value."""


class CheckpointError(SemjsccError, RuntimeError):
    """A checkpoint that cannot be used."""
