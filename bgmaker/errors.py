"""The errors BGMaker reports to a user as one line, without a traceback.

Library code raises these (or plain ValueError / FileNotFoundError with a
message that names the thing); the command line (bgmaker.cli) prints
`bgmaker <command>: error: <message>` and exits 2. They live here, not in the
CLI, so that library modules never import a console-script module.
"""


class UserError(Exception):
    """A problem with the user's input or request; the message names the thing and says why."""


class UnknownNameError(UserError, KeyError):
    """An unknown run, recipe or config name; the message lists the known ones."""

    def __str__(self):
        return self.args[0]


class UnusableMidiError(UserError, ValueError):
    """An input that gives no 4-bar drum beat; the message names the file and says why."""


class ModelMismatchError(UserError, ValueError):
    """A checkpoint that does not fit the config / hparams it is loaded with."""
