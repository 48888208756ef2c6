"""Score features with the UDFs of a config, running the given SQL files in order.

A thin wrapper of :mod:`flink_ml_udf.flink.job` for ``flink run -py`` and plain ``python``:

    python jobs/predict_job.py --config conf/application.yaml \
        --sql sql/features_datagen.sql --sql sql/predict.sql
    flink run -py jobs/predict_job.py --config conf/application.yaml --sql ... --sql ...

``flink-ml-udf submit`` runs the module itself (``flink run -pym flink_ml_udf.flink.job``).
"""

import sys

from flink_ml_udf.flink.job import main

if __name__ == "__main__":
    sys.exit(main())
