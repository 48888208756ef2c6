"""Import-time notices of dependencies that users mistook for problems of their job.

google-auth and google-api-core raise FutureWarnings when they are imported, about versions they will
stop supporting some day (grpcio without post-quantum TLS, Python 3.11 after its end of life): notices
for whoever pins those libraries, not something a job or a command can act on. They are imported by
the GCS loader, and by Apache Beam (PyFlink's Python runtime) when a table environment starts and
google-cloud-storage is installed (the ``gcs`` extra). :func:`ignoring_import_notices` wraps exactly
those two places; every other warning, and anything these libraries warn about later, still shows.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

#: Modules whose import-time FutureWarnings are ignored (a regex on the warning's module, as
#: :func:`warnings.filterwarnings` matches it).
NOTICE_MODULES = r"google\.(auth|api_core)(\.|$)"


@contextlib.contextmanager
def ignoring_import_notices() -> Iterator[None]:
    """Within the block, FutureWarnings raised by :data:`NOTICE_MODULES` are ignored."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=NOTICE_MODULES)
        yield
