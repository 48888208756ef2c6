"""Where this package keeps what it downloads: the per-user cache folder, never a source tree."""

from __future__ import annotations

import os
import sys


def user_cache_dir(*parts: str) -> str:
    """``<cache>/flink-ml-udf/<parts>``: XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS."""
    if sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "flink-ml-udf", *parts)
