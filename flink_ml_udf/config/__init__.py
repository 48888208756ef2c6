"""``conf/application.yaml``: typed, validated UDF entries.

    mleap:
      udf_registry:
        - udf_name: Predict
          bundle_path: ../models/example-1.zip   # relative to this file's folder
          bundle_source: file                    # file | gcs | s3; inferred from gs:// or s3://
          inputs: [feature1, feature2, feature3] # optional: bundle input column per SQL argument
          inputs_mode: scalars                   # optional: scalars | array, for a bundle whose only input is a
                                                 #   tensor of known size N (default scalars: N DOUBLE arguments)
          outputs: [prediction]                  # optional: one column -> scalar, several -> ROW
          result_type: DOUBLE                    # optional: SQL type of a scalar result
          on_error: fail                         # fail | null
          version: null                          # optional: pinned object version (remote sources)
          max_bundle_bytes: 1GiB                 # optional: refuse zips unpacking to more (bytes, KiB, MiB, GiB)
          reload:                                # optional: follow the store's current version (unpinned only)
            interval: 60s                        #   how often each worker asks the store (ms, s, m, h)
          control:                               # optional: follow model updates on a Kafka topic
            topic: model-updates                 #   records {"udf_name", "bundle_path", "version"}
            bootstrap_servers: ${KAFKA_BOOTSTRAP_SERVERS}
      s3:                                        # optional: settings of every s3:// entry
        endpoint_url: http://minio:9000          # S3-compatible servers; default: AWS
        region: eu-west-1
        profile: models                          # or credentials_file: a shared credentials file
        connect_timeout: 5                       # seconds
        read_timeout: 30                         # seconds, per socket read
        retries: 3                               # retries after the first attempt, transient errors only
        cache_dir: /var/cache/flink-ml-udf       # default: the user cache dir
      gcs:                                       # optional: settings of every gs:// entry
        project: my-project
        credentials_file: /secrets/sa.json       # default: Application Default Credentials
        anonymous: false                         # true: no credentials (public buckets, emulators)

Every problem is reported together, each naming the file, the entry and the key.
"""

from flink_ml_udf.config.entries import AppConfig, ControlSettings, ReloadSettings, UdfEntry, Variant
from flink_ml_udf.config.keys import (  # the key tables and limits are config's API too
    BUNDLE_KEYS,
    CONTROL_KEYS,
    DEFAULT_MAX_BATCH_BYTES,
    DEFAULT_MAX_BUNDLE_BYTES,
    ENTRY_KEYS,
    EXPERIMENT_KEYS,
    HOCON_SUFFIXES,
    INPUTS_MODES,
    MAX_CONFIG_BYTES,
    MAX_TIMEOUT_SECONDS,
    MIN_RELOAD_INTERVAL_S,
    MLEAP_KEYS,
    NUMERICS,
    ON_ERROR,
    RELOAD_KEYS,
    SHADOW_KEYS,
    SOURCE_KEYS,
    SOURCES,
    SPLIT_KEY_TYPES,
    SQL_IDENTIFIER,
    TOP_KEYS,
    VARIANT_KEYS,
)
from flink_ml_udf.config.parse import load_config, parse_config
from flink_ml_udf.config.values import parse_duration
from flink_ml_udf.sources import GcsSettings, RemoteSettings, S3Settings, source_for_uri

__all__ = [
    "SOURCES",
    "ON_ERROR",
    "INPUTS_MODES",
    "NUMERICS",
    "SQL_IDENTIFIER",
    "ENTRY_KEYS",
    "EXPERIMENT_KEYS",
    "BUNDLE_KEYS",
    "VARIANT_KEYS",
    "SHADOW_KEYS",
    "SPLIT_KEY_TYPES",
    "RELOAD_KEYS",
    "CONTROL_KEYS",
    "MIN_RELOAD_INTERVAL_S",
    "DEFAULT_MAX_BUNDLE_BYTES",
    "DEFAULT_MAX_BATCH_BYTES",
    "MAX_CONFIG_BYTES",
    "MAX_TIMEOUT_SECONDS",
    "TOP_KEYS",
    "HOCON_SUFFIXES",
    "SOURCE_KEYS",
    "MLEAP_KEYS",
    "AppConfig",
    "ControlSettings",
    "GcsSettings",
    "ReloadSettings",
    "RemoteSettings",
    "S3Settings",
    "UdfEntry",
    "Variant",
    "load_config",
    "parse_config",
    "parse_duration",
    "source_for_uri",
]
