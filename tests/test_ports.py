"""The one helper that finds free local ports (cluster, broker, moto, tests, benchmarks)."""

from __future__ import annotations

import socket

from flink_ml_udf.ports import free_port, free_ports


def test_ports_asked_together_differ_and_can_be_bound():
    ports = free_ports(4) + [free_port()]
    assert len(set(ports[:4])) == 4 and all(1024 <= port <= 65535 for port in ports)
    with socket.socket() as server:
        server.bind(("127.0.0.1", ports[-1]))
        assert server.getsockname()[1] == ports[-1]
