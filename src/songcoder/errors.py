"""Errors a user can act on. Stage scripts print these as one line and exit non-zero."""


class UserError(Exception):
    """Bad input, bad parameters or an unreachable service: the message says what and where."""


class NoUsableDataError(UserError):
    """Nothing usable is left after skipping bad input."""


class TrackingError(UserError):
    """The MLflow store cannot be reached or written."""
