"""Flink integration: everything in this package that knows PyFlink lives here.

sql_types  the SQL type table: name, PyFlink types, bundle column types, pandas dtype, result cast
signature  bundle columns <-> SQL arguments and result
scoring    one Arrow batch (pandas Series) in, one batch of results out
udf        the vectorized PyFlink UDF: loads its model in open(), scores per batch
registry   every UDF of a config registered in a TableEnvironment
functions  the UDFs as module attributes, for CREATE FUNCTION ... LANGUAGE PYTHON
sql_script SQL files run statement by statement; sql_session: sql-init and the SQL runner
java_errors the root cause of a Java failure (Py4J error, REST rootException, flink run output)
job        the job entry point (``python -m flink_ml_udf.flink.job``), shared with the SQL runner
cluster    submitting to a cluster; a private standalone cluster for demos and tests
connectors the Kafka connector jars on ``pipeline.jars``
"""
