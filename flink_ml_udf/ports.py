"""Free TCP ports on 127.0.0.1, for the local servers this package starts (a Flink cluster's REST,
RPC and metrics ports, the local broker, moto) and for the tests and benchmarks that start them.

The ports are found by binding to port 0 and closing again, so another process may take one before
its server binds it; every caller starts its server right away. Several ports asked for at once are
held open together until all are found, so they differ from each other.
"""

from __future__ import annotations

import socket
from typing import List


def free_ports(count: int) -> List[int]:
    """``count`` distinct ports that were free a moment ago."""
    sockets, ports = [], []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(handle)
            handle.bind(("127.0.0.1", 0))
            ports.append(handle.getsockname()[1])
    finally:
        for handle in sockets:
            handle.close()
    return ports


def free_port() -> int:
    """One port that was free a moment ago."""
    return free_ports(1)[0]
