"""User-facing errors.

A :class:`UserError` is a problem with what the user asked for (a bad config value, a missing
file, a model that is not available offline). The runner prints its message as one line and
exits with code 2, without a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit code 2.

    The message should say what is wrong and how to fix it.
    """

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
