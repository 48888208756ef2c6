"""What a Java failure says, from the text Flink gives us: a Py4J error's message, a job's
``rootException`` from the REST API, the output of ``flink run`` or of a daemon's start script.

The SQL runner (:mod:`flink_ml_udf.flink.sql_script`) and cluster submission
(:mod:`flink_ml_udf.flink.cluster`) report failures through the same extraction, so a UDF's own
error reads the same whichever way the job ran. Plain text, no PyFlink.
"""

from __future__ import annotations

import re


def java_root_cause(trace: str) -> str:
    """The useful part of a Java exception text (a Py4J error's message, a job's ``rootException``
    from the REST API): our own error when a Python UDF raised one; else the outermost exception and
    the deepest ``Caused by`` (the root cause: a job failure's ``/ by zero``, not "Job execution
    failed"), followed by the Python error behind it, if any. Stack frames are dropped."""
    lines = [line.strip() for line in trace.splitlines()]
    chain = []
    for line in lines:
        text = _after_caused_by(line)
        if _JAVA_EXCEPTION.match(text) and (line.startswith("Caused by:") or not chain):
            chain.append(text)
    ours = [line for line in (text.lstrip(":").strip() for text in lines) if _OUR_ERROR.search(line)]
    if ours:
        return _OUR_ERROR.search(ours[-1]).group(0)
    if not chain:
        return next((line for line in lines if line), "(no exception text)")
    summary = [chain[0]] if len(chain) == 1 else [chain[0], f"root cause: {chain[-1]}"]
    python = [line for line in lines if _PYTHON_ERROR.match(line)]
    if python and python[-1] not in summary[-1]:
        summary.append(f"Python: {python[-1]}")
    return " → ".join(summary)


_JAVA_EXCEPTION = re.compile(r"^[a-z][\w$]*(\.[\w$]+)+(Exception|Error|Throwable)\b")
_OUR_ERROR = re.compile(r"flink_ml_udf\.[\w.]*(Error|Fault): .*$")
_PYTHON_ERROR = re.compile(r"^[A-Z]\w*(Error|Exception): ")


def failure_summary(output: str, lines: int = 12) -> str:
    """The root cause of a command's output when it holds a Java exception or one of our errors
    (:func:`java_root_cause`), else its last ``lines`` lines (stack frames dropped) joined by ``|``."""
    stripped = (line.strip() for line in output.splitlines())
    if any(_JAVA_EXCEPTION.match(_after_caused_by(line)) or _OUR_ERROR.search(line) for line in stripped):
        return java_root_cause(output)
    return output_tail(output, lines)


def output_tail(output: str, lines: int = 12) -> str:
    """The last ``lines`` non-blank lines of ``output`` that are not Java stack frames, joined by ``|``."""
    kept = [line for line in output.splitlines() if line.strip() and not line.strip().startswith("at ")]
    return " | ".join(kept[-lines:])


def _after_caused_by(line: str) -> str:
    return line[len("Caused by:") :].strip() if line.startswith("Caused by:") else line.lstrip(":").strip()
