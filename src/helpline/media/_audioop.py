"""Import the stdlib ``audioop`` once, without its DeprecationWarning (removed in 3.13).

Every sample operation in the media core goes through this module, so replacing
``audioop`` later (``audioop-lts`` or a C extension) is a one-file change.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["audioop"]
