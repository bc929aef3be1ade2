"""A small mksh-like shell: parsing, expansion, redirection and the commands a phone answers."""

from . import android, files, packages  # noqa: F401  (importing registers the commands)
from .run import Output, Session

__all__ = ["Output", "Session"]
