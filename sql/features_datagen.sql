-- The Features table for development: random, bounded features at full speed.
-- FEATURES_ROWS bounds the stream (the job ends after that many rows).
CREATE TEMPORARY TABLE Features (
    feature1 DOUBLE,
    feature2 INT,
    feature3 DOUBLE,
    feature_timestamp TIMESTAMP(3)
) WITH (
    'connector' = 'datagen',
    'rows-per-second' = '${FEATURES_ROWS_PER_SECOND:-1000000000}',
    'number-of-rows' = '${FEATURES_ROWS:-20}',
    'fields.feature1.min' = '0.0',
    'fields.feature1.max' = '100.0',
    'fields.feature2.min' = '0',
    'fields.feature2.max' = '10',
    'fields.feature3.min' = '-1.0',
    'fields.feature3.max' = '1.0',
    'fields.feature_timestamp.max-past' = '0'
);
