"""Errors the user can act on.

Every failure caused by input (a file, a name, a setting) is raised as an `AvatarStudioError` whose
message is one sentence saying what is wrong and what to do. The CLI prints it on one line and exits
with code 2; the GUI shows it in the window. Anything else is a bug and keeps its traceback.
"""


class AvatarStudioError(Exception):
    """A problem with the user's input or environment, described in one actionable sentence."""


class CancelledError(AvatarStudioError):
    """The user cancelled long-running work; whatever it was writing has been removed."""

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)
