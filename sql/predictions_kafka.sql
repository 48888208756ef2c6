-- Predictions to Kafka, exactly-once by default (Kafka transactions committed on checkpoints).
-- DELIVERY_GUARANTEE=at-least-once trades duplicates on recovery for latency below the checkpoint interval.
-- model_version is the version of the bundle that scored each row (PredictVersioned's model_version
-- output), so it stays true when models are updated while the job runs. For a pinned entry it equals
-- ${MODEL_VERSION_<UDF>}, the version the job resolved when it registered the UDFs.
SET 'execution.checkpointing.interval' = '${CHECKPOINT_INTERVAL:-2s}';

CREATE TEMPORARY TABLE Predictions (
    id BIGINT,
    prediction DOUBLE,
    model_version STRING,
    feature_timestamp TIMESTAMP(3),
    scored_at TIMESTAMP_LTZ(3)
) WITH (
    'connector' = 'kafka',
    'topic' = '${PREDICTIONS_TOPIC:-predictions}',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}',
    'properties.transaction.timeout.ms' = '60000',
    'sink.delivery-guarantee' = '${DELIVERY_GUARANTEE:-exactly-once}',
    'sink.transactional-id-prefix' = '${TRANSACTIONAL_ID_PREFIX:-flink-ml-udf}',
    'key.format' = 'json',
    'key.fields' = 'id',
    'value.format' = 'json',
    'value.fields-include' = 'ALL',
    'value.json.timestamp-format.standard' = 'ISO-8601'
);

INSERT INTO Predictions
SELECT id, scored.prediction, scored.model_version, feature_timestamp, CURRENT_TIMESTAMP
FROM (
    SELECT id, feature_timestamp, PredictVersioned(feature1, feature2, feature3) AS scored
    FROM Features
    WHERE id IS NOT NULL AND feature1 IS NOT NULL AND feature2 IS NOT NULL AND feature3 IS NOT NULL
);
