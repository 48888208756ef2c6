-- The Features table in production: JSON feature events on a Kafka topic.
-- KAFKA_BOOTSTRAP_SERVERS, FEATURES_TOPIC and KAFKA_GROUP_ID pick the cluster, topic and group.
-- FEATURES_BOUNDED_MODE/FEATURES_BOUNDED_OFFSETS make the read bounded (tests, backfills), e.g.
-- 'specific-offsets' and 'partition:0,offset:100000'.
-- Malformed events (not JSON, a field missing or of the wrong type):
--   default: the job fails loudly, naming the record's problem; nothing is scored wrongly.
--   JSON_IGNORE_PARSE_ERRORS=true JSON_FAIL_ON_MISSING_FIELD=false: unparseable events are dropped, events
--   missing a field arrive with NULLs and predictions_kafka.sql filters them out; the demo and the tests
--   count what was skipped as in - out.
CREATE TEMPORARY TABLE Features (
    id BIGINT,
    feature1 DOUBLE,
    feature2 INT,
    feature3 DOUBLE,
    feature_timestamp TIMESTAMP(3)
) WITH (
    'connector' = 'kafka',
    'topic' = '${FEATURES_TOPIC:-features}',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}',
    'properties.group.id' = '${KAFKA_GROUP_ID:-flink-ml-udf}',
    'properties.session.timeout.ms' = '10000',
    'properties.fetch.max.wait.ms' = '${FEATURES_FETCH_MAX_WAIT_MS:-50}',
    'properties.isolation.level' = '${FEATURES_ISOLATION_LEVEL:-read_committed}',
    'scan.startup.mode' = 'earliest-offset',
    'scan.bounded.mode' = '${FEATURES_BOUNDED_MODE:-unbounded}',
    'scan.bounded.specific-offsets' = '${FEATURES_BOUNDED_OFFSETS:-partition:0,offset:0}',
    'format' = 'json',
    'json.fail-on-missing-field' = '${JSON_FAIL_ON_MISSING_FIELD:-true}',
    'json.ignore-parse-errors' = '${JSON_IGNORE_PARSE_ERRORS:-false}',
    'json.timestamp-format.standard' = 'ISO-8601'
);
