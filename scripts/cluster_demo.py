"""Cluster demo: a real standalone Flink cluster on localhost, the datagen job submitted to it with
`flink-ml-udf submit`, the predictions read back and counted, the cluster stopped (also on failure).

    python scripts/cluster_demo.py [--rows 1000]
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    from flink_ml_udf.flink.cluster import LocalCluster, submit
    from flink_ml_udf.ports import free_ports

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="flink-ml-udf-cluster-")
    out = os.path.join(work, "predictions")
    sink = os.path.join(work, "sink.sql")
    with open(sink, "w") as handle:
        handle.write(
            f"CREATE TEMPORARY TABLE Scored (prediction DOUBLE, prediction2 DOUBLE) WITH "
            f"('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv');\n"
            "INSERT INTO Scored SELECT Predict(feature1, feature2, feature3), Predictv2(feature1) FROM Features;\n"
        )
    rest, rpc = free_ports(2)
    env = dict(os.environ, FEATURES_ROWS=str(args.rows))
    with LocalCluster(os.path.join(REPO, ".flink", "cluster"), rest, rpc) as cluster:
        scrape = ", ".join(f"http://localhost:{port}/metrics" for port in cluster.prometheus_ports)
        print(f"cluster: http://{cluster.address} (logs in .flink/cluster/log; Prometheus: {scrape})", flush=True)
        result = submit(
            os.path.join(REPO, "conf", "application.yaml"),
            [os.path.join(REPO, "sql", "features_datagen.sql"), sink],
            cluster.address,
            parallelism=2,
            env=env,
        )
    rows = sum(1 for path in glob.glob(f"{out}/**/part-*", recursive=True) for _ in open(path))
    print(f"job {result.job_id}: {result.state}, {rows} predictions of {args.rows} rows in {out}")
    return 0 if result.state == "FINISHED" and rows == args.rows else 1


if __name__ == "__main__":
    sys.exit(main())
