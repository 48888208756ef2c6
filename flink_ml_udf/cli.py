"""``flink-ml-udf``: look into bundles and score LeapFrames without Flink.

    flink-ml-udf inspect BUNDLE [--json] [--config APP.yaml] [--version V]
    flink-ml-udf score BUNDLE --frame FRAME.json [--config APP.yaml] [--version V]
    flink-ml-udf sql-init --config APP.yaml [--kafka]     (an init script for sql-client.sh -i)
    flink-ml-udf sql -f SCRIPT.sql [-f ...] [--config APP.yaml] [--batch]   (run SQL locally)
    flink-ml-udf submit --config APP.yaml --sql A.sql [--sql ...] [--jobmanager HOST:PORT]
                        [--parallelism N] [--detached] [--worker-python PATH]
                        [--no-ship-bundles] [--no-ship-requirements]   (flink run -pym flink_ml_udf.flink.job)
    flink-ml-udf promote --config APP.yaml --udf NAME --bundle URI [--version V] [--variant NAME]
    flink-ml-udf status [--jobmanager HOST:PORT] [--job ID]   (what each UDF serves, from the REST API)
    flink-ml-udf compare --config APP.yaml --udf NAME --frame FRAME.json   (an experiment's models, offline)

BUNDLE is a bundle folder or zip, or a gs:// or s3:// URI of a zip object or folder prefix
(fetched through the local bundle cache; endpoint, credentials, timeouts and cache folder come
from the ``mleap.gcs`` / ``mleap.s3`` sections of ``--config``, else the standard defaults). Errors go to stderr with exit status 2; nothing is printed to
stdout then, so the output can be piped safely.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional, TextIO

from flink_ml_udf.bundles import LoadedModel, load_location_model
from flink_ml_udf.config import NUMERICS, load_config
from flink_ml_udf.errors import FlinkMlUdfError, ScoringError
from flink_ml_udf.mleap import describe
from flink_ml_udf.mleap.json_document import parse_json
from flink_ml_udf.mleap.leapframe import frame_from_json, frame_to_json
from flink_ml_udf.redact import redact_url
from flink_ml_udf.regular_files import UnreadableFile, decode_text, read_text_file

#: A LeapFrame file larger than this is refused unread (``score`` is for inspecting a few rows).
MAX_FRAME_BYTES = 64 << 20


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flink-ml-udf", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    inspect = commands.add_parser("inspect", help="list a bundle's ops and its input and output schema")
    inspect.add_argument("bundle", help="bundle folder or .zip, or a gs:// or s3:// URI")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of text")

    score = commands.add_parser("score", help="score a LeapFrame JSON file, print the transformed LeapFrame")
    score.add_argument("bundle", help="bundle folder or .zip, or a gs:// or s3:// URI")
    score.add_argument("--frame", required=True, help="LeapFrame JSON file ('-' for stdin)")
    for command in (inspect, score):
        command.add_argument("--config", help="application.yaml whose mleap.gcs / mleap.s3 settings to use")
        command.add_argument("--version", dest="pin", help="pinned version (S3 VersionId, GCS generation)")
        command.add_argument(
            "--numerics",
            choices=NUMERICS,
            default=NUMERICS[0],
            help="how the model sums dot products: fast (numpy) or jvm (MLeap's JVM order, to the bit)",
        )

    init = commands.add_parser("sql-init", help="print a SQL client init script declaring the config's UDFs")
    init.add_argument("--config", required=True, help="application.yaml with the UDF registry")
    init.add_argument("--kafka", action="store_true", help="also ADD JAR the Kafka connector jars")

    sql = commands.add_parser("sql", help="run SQL files statement by statement on a local minicluster")
    sql.add_argument("-f", "--file", dest="files", action="append", required=True, help="SQL file (repeatable)")
    sql.add_argument("--config", help="application.yaml whose UDFs the files may CREATE ... LANGUAGE PYTHON")
    sql.add_argument("--batch", action="store_true", help="batch mode instead of streaming")

    submit = commands.add_parser("submit", help="submit the job (flink_ml_udf.flink.job) to a Flink cluster")
    submit.add_argument("--config", required=True, help="application.yaml with the UDF registry")
    submit.add_argument("--sql", action="append", required=True, help="SQL file (repeatable, in order)")
    submit.add_argument("--jobmanager", default="localhost:8081", help="REST address of the cluster")
    submit.add_argument("--parallelism", type=int)
    submit.add_argument("--detached", action="store_true", help="return after submission")
    submit.add_argument(
        "--worker-python", help="the Python on the cluster hosts, with apache-flink (default: this Python's path)"
    )
    submit.add_argument(
        "--no-ship-bundles", action="store_true", help="local bundle paths exist on every host (image, shared mount)"
    )
    submit.add_argument(
        "--no-ship-requirements",
        action="store_true",
        help="the hosts' Python already has flink-ml-udf's dependencies (numba) and the S3/GCS extras",
    )

    promote = commands.add_parser("promote", help="check a bundle and make it the UDF's model via its control topic")
    promote.add_argument("--config", required=True, help="application.yaml with the UDF registry")
    promote.add_argument("--udf", required=True, help="UDF name (its entry must have a control topic)")
    promote.add_argument("--bundle", required=True, help="bundle path or URI (of the entry's source)")
    promote.add_argument("--version", dest="pin", help="version to serve (default: the store's current one)")
    promote.add_argument("--variant", help="the variant (or shadow) of an experiment to promote")

    comparison = commands.add_parser("compare", help="score a LeapFrame with every variant and the shadow")
    comparison.add_argument("--config", required=True, help="application.yaml with the UDF registry")
    comparison.add_argument("--udf", required=True, help="UDF name (an experiment, or a plain entry)")
    comparison.add_argument("--frame", required=True, help="LeapFrame JSON file ('-' for stdin)")

    status = commands.add_parser("status", help="per UDF: version served, rows, failures, scoring times, reloads")
    status.add_argument("--jobmanager", default="localhost:8081", help="REST address of the cluster")
    status.add_argument("--job", help="job id (default: every running job)")
    return parser


def main(argv: Optional[List[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "sql-init":
            from flink_ml_udf.flink.sql_session import sql_init_script

            out.write(sql_init_script(args.config, kafka=args.kafka))
            return 0
        if args.command == "submit":
            from flink_ml_udf.flink.cluster import submit

            result = submit(
                args.config,
                args.sql,
                args.jobmanager,
                args.parallelism,
                args.detached,
                worker_python=args.worker_python,
                ship_bundles=not args.no_ship_bundles,
                ship_requirements=not args.no_ship_requirements,
            )
            out.write(f"job {result.job_id}: {result.state or 'submitted (detached)'}\n")
            return 0
        if args.command == "promote":
            from flink_ml_udf.flink.promote import promote

            done = promote(load_config(args.config), args.udf, args.bundle, args.pin, variant=args.variant)
            out.write(
                f"promoted {done.update.udf_name}: {done.update.bundle_path} @ {done.update.version} "
                f"(topic {done.topic}, partition {done.partition}, offset {done.offset})\n"
            )
            return 0
        if args.command == "compare":
            from flink_ml_udf.flink.compare import compare, format_comparison

            document = _read_json(args.frame, "frame")
            out.write(format_comparison(args.udf, compare(load_config(args.config), args.udf, document)))
            return 0
        if args.command == "status":
            from flink_ml_udf.flink.status import format_status, job_report, running_jobs

            try:
                for job_id in [args.job] if args.job else running_jobs(args.jobmanager):
                    out.write(format_status(job_id, *job_report(args.jobmanager, job_id)))
            except OSError as exc:  # urllib's URLError and HTTPError are OSErrors
                raise FlinkMlUdfError(f"cannot read the REST API at {args.jobmanager}: {exc}") from None
            return 0
        if args.command == "sql":
            from flink_ml_udf.flink.sql_session import run_sql_file

            run_sql_file(args.files, args.config, batch=args.batch)
            return 0
        settings = load_config(args.config).sources if args.config else None
        loaded = load_location_model(args.bundle, args.pin, settings, numerics=args.numerics)
        if args.command == "inspect":
            _inspect(loaded, args.json, out)
        else:
            _score(loaded, args.frame, out)
    except FlinkMlUdfError as exc:
        print(f"flink-ml-udf {args.command}: {exc}", file=err)
        return 2
    except BrokenPipeError:  # `flink-ml-udf score ... | head`: the reader went away
        _detach(out)
        print(f"flink-ml-udf {args.command}: the output was closed before it was all written", file=err)
        return 2
    return 0


def _detach(out: TextIO) -> None:
    """Point a closed standard output at /dev/null, so the interpreter's final flush stays quiet."""
    try:
        if out is sys.stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
    except (OSError, ValueError):
        pass


def _inspect(loaded: LoadedModel, as_json: bool, out: TextIO) -> None:
    summary = describe(loaded.model)
    summary["uri"] = redact_url(loaded.uri)
    summary["version"] = loaded.version
    if as_json:
        json.dump(summary, out, indent=2)
        out.write("\n")
        return
    if loaded.uri != summary["bundle"]:
        out.write(f"uri:        {summary['uri']}\n")
    out.write(f"bundle:     {summary['bundle']}\n")
    out.write(f"version:    {loaded.version}\n")
    out.write(f"numerics:   {summary['numerics']}\n")
    out.write(f"name:       {summary['name']} (format {summary['format']}, MLeap {summary['mleap_version']})\n")
    out.write("ops:\n")
    for op in summary["ops"]:
        out.write(f"  {op['op']:<28} {op['name']}\n")
    out.write("inputs:\n")
    for column in summary["inputs"]:
        out.write(f"  {column['name']:<28} {column['type']}\n")
    out.write("outputs:\n")
    for column in summary["outputs"]:
        marker = "  (prediction)" if column["name"] == summary["prediction"] else ""
        out.write(f"  {column['name']:<28} {column['type']}{marker}\n")


def _read_json(path: str, what: str):
    """A JSON file ('-': stdin) as a document, read only from a regular file or stdin and up to
    :data:`MAX_FRAME_BYTES`; errors name the file."""
    if path != "-":
        text = read_text_file(path, MAX_FRAME_BYTES, ScoringError, f"{what} {path}: cannot read")
    else:
        try:
            data = sys.stdin.buffer.read(MAX_FRAME_BYTES + 1)
            if len(data) > MAX_FRAME_BYTES:
                raise UnreadableFile(f"holds more than the limit of {MAX_FRAME_BYTES} bytes")
            text = decode_text(data)
        except UnreadableFile as exc:
            raise ScoringError(f"{what} {path}: cannot read: {exc}") from None
    return parse_json(text, f"{what} {path}", ScoringError)


def _score(loaded: LoadedModel, frame_path: str, out: TextIO) -> None:
    model = loaded.model
    document = _read_json(frame_path, "frame")
    try:
        frame = frame_from_json(document, max_batch_bytes=model.max_batch_bytes)
    except FlinkMlUdfError as exc:
        raise exc.within(f"frame {frame_path}") from exc
    json.dump(frame_to_json(model.transform(frame)), out, indent=2)
    out.write("\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
