"""The one Java-failure extraction that the SQL runner and cluster submission share."""

from __future__ import annotations

from flink_ml_udf.flink.java_errors import failure_summary, output_tail

# What `flink run` prints when the job module's main raises one of our errors (frames elided).
FLINK_RUN_OUTPUT = """\
Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
flink_ml_udf.errors.ConfigError: /conf/app.yaml → mleap.udf_registry[0] → key 'bundle_path': required key is missing

------------------------------------------------------------
 The program finished with the following exception:

org.apache.flink.client.program.ProgramAbortException: java.lang.RuntimeException: Python process exits with code: 1
\tat org.apache.flink.client.python.PythonDriver.main(PythonDriver.java:134)
Caused by: java.lang.RuntimeException: Python process exits with code: 1
\tat org.apache.flink.client.python.PythonDriver.main(PythonDriver.java:124)
"""

REFUSED = """\
org.apache.flink.client.program.ProgramInvocationException: The main method caused an error: Failed to submit
\tat org.apache.flink.client.program.PackagedProgram.callMainMethod(PackagedProgram.java:373)
Caused by: java.net.ConnectException: Connection refused
"""


def test_submission_output_names_our_error_or_the_java_root_cause():
    assert failure_summary(FLINK_RUN_OUTPUT) == (
        "flink_ml_udf.errors.ConfigError: /conf/app.yaml → mleap.udf_registry[0] → key 'bundle_path': "
        "required key is missing"
    )
    assert failure_summary(REFUSED) == (
        "org.apache.flink.client.program.ProgramInvocationException: The main method caused an error: Failed to "
        "submit → root cause: java.net.ConnectException: Connection refused"
    )


def test_output_without_an_exception_keeps_its_last_lines():
    output = "\n".join(f"line {n}" for n in range(20)) + "\n\tat some.Frame(F.java:1)\n\n"
    assert failure_summary(output) == output_tail(output) == " | ".join(f"line {n}" for n in range(8, 20))
    assert failure_summary("Starting cluster.\nError: JAVA_HOME is not set", lines=1) == "Error: JAVA_HOME is not set"
