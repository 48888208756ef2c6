"""The data path's package boundaries hold: only ``flink_ml_udf.flink`` knows PyFlink."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_runtime_loaders_config_and_cli_never_import_pyflink():
    modules = ["flink_ml_udf", "flink_ml_udf.config", "flink_ml_udf.loaders", "flink_ml_udf.mleap",
               "flink_ml_udf.bundles", "flink_ml_udf.cli", "flink_ml_udf.flink.signature", "flink_ml_udf.flink.scoring",
               "flink_ml_udf.config.hocon"]  # fmt: skip
    code = "import importlib, sys\n"
    code += "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('pyflink', 'py4j')}))"
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
