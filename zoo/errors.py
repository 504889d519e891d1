"""The one exception type the zoo raises for problems a user can fix."""


class ZooError(ValueError):
    """A bad argument, a missing or corrupt weight file, or unreadable audio.

    The message always names what was wrong and what to do about it.
    """
