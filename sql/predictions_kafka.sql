-- Predictions to Kafka, exactly-once by default (Kafka transactions committed on checkpoints).
-- DELIVERY_GUARANTEE=at-least-once trades duplicates on recovery for latency below the checkpoint interval.
-- MODEL_VERSION_PREDICT is the resolved version of Predict's bundle (set by the job after registering).
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
SELECT id, Predict(feature1, feature2, feature3), '${MODEL_VERSION_PREDICT}', feature_timestamp, CURRENT_TIMESTAMP
FROM Features
WHERE id IS NOT NULL AND feature1 IS NOT NULL AND feature2 IS NOT NULL AND feature3 IS NOT NULL;
