"""The one exception type the command line and the API turn into a clear message."""


class ChisoError(Exception):
    """A failure the user can act on: bad input, unknown code, missing data.

    The message is already translated and fits on one line; callers print it as is.
    """


class NotFound(ChisoError):
    """The object asked for does not exist (or is outside the caller's scope)."""


class TooLarge(ChisoError):
    """An upload or a file beyond a size limit (a setting names each): refused whole."""
