"""A UDF whose bundle lives in S3, inside a real Flink job: each worker fetches it in open()."""

from __future__ import annotations

import os
import shutil
import textwrap

import numpy as np
import pytest

from tests.conftest import REPO
from tests.flink.test_flink import feature_rows, features_table
from tests.loaders.test_cache import object_gets

pytestmark = pytest.mark.flink


def test_s3_bundle_scores_like_the_file_bundle(t_env, s3_world, tmp_path):
    from flink_ml_udf.flink.registry import register_from_config

    cache = tmp_path / "cache"
    config = tmp_path / "application.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            mleap:
              s3:
                endpoint_url: {s3_world.server.url}
                region: us-east-1
                credentials_file: {s3_world.credentials_file}
                profile: reader
                connect_timeout: 2
                read_timeout: 10
                retries: 1
                cache_dir: {cache}
              udf_registry:
                - udf_name: PredictS3
                  bundle_path: s3://models/models/example-1.zip
                - udf_name: PredictFile
                  bundle_path: {REPO}/models/example-1.zip
            """
        )
    )
    registered = register_from_config(str(config), t_env)
    assert registered["PredictS3"].version == s3_world.example_1_version
    # The client validated through the cache; empty it so the workers must download the bundle themselves.
    shutil.rmtree(cache)
    downloads_before = object_gets(s3_world.server, "models/example-1.zip")

    frame = feature_rows(1000, seed=23)
    t_env.create_temporary_view("RemoteFeatures", features_table(t_env, frame))
    result = (
        t_env.sql_query(
            "SELECT id, PredictS3(feature1, feature2, feature3) AS remote, "
            "PredictFile(feature1, feature2, feature3) AS from_file FROM RemoteFeatures"
        )
        .to_pandas()
        .sort_values("id")
        .reset_index(drop=True)
    )

    assert len(result) == 1000
    assert not result.remote.isna().any()
    np.testing.assert_array_equal(result.remote.to_numpy(), result.from_file.to_numpy())
    assert object_gets(s3_world.server, "models/example-1.zip") >= downloads_before + 2  # probe + download
    entries = [name for name in os.listdir(cache) if not name.endswith(".lock")]
    assert len(entries) == 1 and sorted(os.listdir(cache / entries[0])) == ["example-1.zip", "manifest.json"]
