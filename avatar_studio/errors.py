"""Errors the user can act on.

Every failure caused by input (a file, a name, a setting) is raised as an `AvatarStudioError` whose
message is one sentence saying what is wrong and what to do. The CLI prints it on one line and exits
with code 2; the GUI shows it in the window. A cancel is `Cancelled`, kept apart from errors.
Anything else is a bug and keeps its traceback.
"""


class AvatarStudioError(Exception):
    """A problem with the user's input or environment, described in one actionable sentence."""


class Cancelled(Exception):
    """The user cancelled long-running work; whatever it was writing has been removed.

    A sibling of `AvatarStudioError`, not a subclass, so `except AvatarStudioError` never swallows a
    cancel; named so it does not shadow `asyncio.CancelledError`.
    """

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)
