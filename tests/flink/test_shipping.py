"""What `submit` ships with a job (flink_ml_udf.flink.shipping), checked without a cluster: the
package zip imports on its own, the bundle archive holds each bundle byte for byte, a worker loads
the shipped copy and names the bundle as the config does, and the S3/GCS extras become pinned
requirements. tests/flink/test_shipping_cluster.py runs it all on a
cluster whose Python has apache-flink only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import replace
from importlib import metadata

import numpy as np
import pandas as pd
import pytest

import flink_ml_udf
from flink_ml_udf.config import load_config
from flink_ml_udf.errors import LoaderError, ScoringError
from flink_ml_udf.flink.scoring import BatchScorer
from flink_ml_udf.flink.shipping import (
    BUNDLES_DIR,
    ShippingError,
    bundles_archive,
    load_worker_model,
    package_zip,
    prepare_shipment,
    worker_requirements,
)
from flink_ml_udf.flink.signature import derive_signature
from flink_ml_udf.loaders.file import content_hash
from flink_ml_udf.regular_files import sha256_of_file as sha256
from tests.conftest import EXAMPLE_CONFIG, REPO


@pytest.fixture
def local_config(tmp_path):
    """The example config and its bundles, copied where the test may delete them."""
    shutil.copytree(os.path.join(REPO, "models"), tmp_path / "models")
    shutil.copytree(os.path.join(REPO, "conf"), tmp_path / "conf")
    return load_config(str(tmp_path / "conf" / "application.yaml"))


def unpack(archive: str, folder) -> str:
    """What PyFlink does with a ``-pyarch`` archive: extract it into ``<working dir>/<name>``."""
    with zipfile.ZipFile(archive) as handle:
        handle.extractall(folder / BUNDLES_DIR)
    return str(folder)


def test_package_zip_holds_every_module_and_imports_alone(tmp_path):
    target = package_zip(str(tmp_path / "p.zip"))
    root = os.path.dirname(flink_ml_udf.__file__)
    expected = sorted(
        "flink_ml_udf/" + os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
        for folder, _, names in os.walk(root)
        for name in names
        if name.endswith(".py") and "__pycache__" not in folder
    )
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == expected
        assert "flink_ml_udf/flink/shipping.py" in expected and "flink_ml_udf/mleap/model.py" in expected
        archive.extractall(tmp_path / "extracted")
    # Zipped twice, the same bytes: a resubmission ships an identical file.
    assert sha256(package_zip(str(tmp_path / "again.zip"))) == sha256(target)
    # Imported from the extracted folder first on PYTHONPATH, as the TaskManagers do.
    code = "import flink_ml_udf.flink.shipping, flink_ml_udf.mleap; print(flink_ml_udf.__file__)"
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "extracted"))
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="/")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(tmp_path / "extracted" / "flink_ml_udf" / "__init__.py")


def test_bundle_archive_holds_each_bundle_unchanged(local_config, tmp_path):
    archive = str(tmp_path / "bundles.zip")
    zip_bundle, folder_bundle = (entry.bundle_path for entry in local_config.udfs[:2])
    assert bundles_archive(local_config.udfs, archive) == [zip_bundle, folder_bundle]
    work = tmp_path / "work"
    unpack(archive, work)
    copies = work / BUNDLES_DIR
    assert sha256(copies / "0" / "example-1.zip") == sha256(zip_bundle)
    assert content_hash(str(copies / "1" / "example-2")) == content_hash(folder_bundle)
    import json

    manifest = json.loads((copies / "manifest.json").read_text())
    assert manifest == {
        "bundles": [
            {"path": zip_bundle, "copy": "0/example-1.zip", "version": content_hash(zip_bundle)},
            {"path": folder_bundle, "copy": "1/example-2", "version": content_hash(folder_bundle)},
        ]
    }


def test_worker_loads_the_shipped_copy_under_the_configured_name(local_config, tmp_path):
    shipment = prepare_shipment(local_config, str(tmp_path / "staging"))
    # apache-flink brings numpy, pandas, PyYAML and protobuf; numba (and what it requires) comes with the job.
    assert shipment.requirement_lines == tuple(f"{n}=={installed(n)}" for n in ("llvmlite", "numba", "numpy"))
    work = unpack(shipment.bundles, tmp_path / "work")
    entry = local_config.entry("Predict")
    expected_version = content_hash(entry.bundle_path)
    shutil.rmtree(tmp_path / "models")  # the paths exist on the client only, as on another host

    loaded = load_worker_model(entry, working_dir=work)
    assert loaded.path == os.path.join(work, BUNDLES_DIR, "0", "example-1.zip")
    assert loaded.version == expected_version
    assert loaded.uri == entry.bundle_path
    assert loaded.model.info.location == entry.bundle_path
    reference = flink_ml_udf.mleap.load_bundle(os.path.join(REPO, "models", "example-1.zip"))
    features = {"feature1": [0.5, 2.0], "feature2": [1.0, 3.0], "feature3": [0.25, 7.0]}
    np.testing.assert_array_equal(
        loaded.model.transform_columns(features).get("prediction", "t"),
        reference.transform_columns(features).get("prediction", "t"),
    )
    signature = derive_signature(entry, loaded.model)
    with pytest.raises(ScoringError) as info:  # a scoring error names the bundle as the config does
        BatchScorer("Predict", loaded.model, signature, "fail")([pd.Series(v) for v in ([np.nan], [1.0], [1.0])])
    assert str(info.value).startswith(f"UDF 'Predict' → bundle {entry.bundle_path} → node vector_assembler_")

    folder = load_worker_model(local_config.entry("Predictv2"), working_dir=work)
    assert folder.model.info.location == local_config.entry("Predictv2").bundle_path


def test_worker_without_shipped_bundles_reads_the_configured_path(tmp_path):
    entry = load_config(EXAMPLE_CONFIG).entry("Predict")
    loaded = load_worker_model(entry, working_dir=str(tmp_path))  # no manifest: a local run, or --no-ship-bundles
    assert loaded.path == entry.bundle_path == os.path.join(REPO, "models", "example-1.zip")


def test_a_changed_copy_is_an_error_and_an_unlisted_path_is_read_in_place(local_config, tmp_path):
    shipment = prepare_shipment(local_config, str(tmp_path / "staging"))
    work = unpack(shipment.bundles, tmp_path / "work")
    entry = local_config.entry("Predict")
    copy = os.path.join(work, BUNDLES_DIR, "0", "example-1.zip")
    with open(copy, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(LoaderError) as info:
        load_worker_model(entry, working_dir=work)
    message = str(info.value)
    assert message.startswith(f"UDF 'Predict' → bundle {copy}: ")
    assert content_hash(entry.bundle_path) in message and content_hash(copy) in message
    assert message.endswith(f" (the copy of {entry.bundle_path} shipped with the job)")
    # Not in the manifest (an entry that follows updates, a bundle proposed later): read where it is.
    other = replace(entry, bundle_path=os.path.join(REPO, "models", "example-1.zip"))
    assert load_worker_model(other, working_dir=work).path == other.bundle_path
    # A model update (another URI) is read where it is, too.
    assert load_worker_model(entry, other.bundle_path, working_dir=work).path == other.bundle_path


def test_no_bundle_archive_when_bundles_are_not_shipped(local_config, tmp_path):
    shipment = prepare_shipment(local_config, str(tmp_path / "staging"), ship_bundles=False)
    assert shipment.bundles is None and shipment.bundle_paths == ()
    assert shipment.flink_run_options() == ["-pyfs", shipment.package, "-pyreq", shipment.requirements]
    shipped = prepare_shipment(local_config, str(tmp_path / "staging2"), ship_requirements=False)
    assert shipped.requirements is None
    assert shipped.flink_run_options() == ["-pyfs", shipped.package, "-pyarch", f"{shipped.bundles}#{BUNDLES_DIR}"]


def installed(name: str) -> str:
    return metadata.version(name)


def test_s3_and_gcs_configs_ship_their_extras_and_everything_they_require_pinned(tmp_path):
    """Beside numba: the extras of the config's sources, with everything they require."""
    config = tmp_path / "application.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            mleap:
              udf_registry:
                - udf_name: A
                  bundle_path: s3://models/a.zip
                - udf_name: B
                  bundle_path: gs://models/b.zip
                - udf_name: C
                  bundle_path: {REPO}/models/example-1.zip
            """
        )
    )
    shipment = prepare_shipment(load_config(str(config)), str(tmp_path / "staging"))
    lines = shipment.requirement_lines
    # PyFlink installs them with --ignore-installed, first on the workers' path: what apache-flink also
    # needs (protobuf, urllib3, ...) comes pinned to the client's versions, never at pip's newest.
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "google-cloud-storage",
                 "google-auth", "google-api-core", "protobuf", "requests", "numba", "llvmlite", "numpy"):  # fmt: skip
        assert f"{name}=={installed(name)}" in lines
    names = [line.split("==")[0] for line in lines]
    assert names == sorted(set(names))
    assert {"apache-flink", "apache-beam", "pandas", "pyarrow"}.isdisjoint(names)
    with open(shipment.requirements) as handle:
        assert handle.read() == "".join(f"{line}\n" for line in lines)
    assert shipment.flink_run_options()[-2:] == ["-pyreq", shipment.requirements]
    assert shipment.bundle_paths == (os.path.join(REPO, "models", "example-1.zip"),)
    assert (
        prepare_shipment(load_config(str(config)), str(tmp_path / "s2"), ship_requirements=False).requirements is None
    )


def test_unknown_extra_is_an_error():
    with pytest.raises(ShippingError) as info:
        worker_requirements(["hdfs"])
    assert str(info.value).startswith("flink-ml-udf has no extra hdfs (extras: ")


def test_an_experiment_ships_every_variant_and_its_shadow(tmp_path):
    for name in ("champion.zip", "challenger.zip", "shadow.zip"):
        shutil.copy(os.path.join(REPO, "models", "example-1.zip"), tmp_path / name)
    config = tmp_path / "application.yaml"
    config.write_text(
        textwrap.dedent(
            """
            mleap:
              udf_registry:
                - udf_name: Fraud
                  split_key: customer_id
                  variants:
                    - {name: champion, bundle_path: champion.zip, weight: 90}
                    - {name: challenger, bundle_path: challenger.zip, weight: 10}
                  shadow: {name: candidate, bundle_path: shadow.zip}
            """
        )
    )
    experiment = load_config(str(config)).entry("Fraud")
    shipment = prepare_shipment(load_config(str(config)), str(tmp_path / "staging"))
    paths = [str(tmp_path / name) for name in ("champion.zip", "challenger.zip", "shadow.zip")]
    assert shipment.bundle_paths == tuple(paths)
    work = unpack(shipment.bundles, tmp_path / "work")
    for path in paths:
        os.remove(path)
    challenger = experiment.variants[1].entry
    loaded = load_worker_model(challenger, working_dir=work)
    assert loaded.path == os.path.join(work, BUNDLES_DIR, "1", "challenger.zip")
    assert loaded.model.info.location == loaded.uri == paths[1]
    assert load_worker_model(experiment.shadow.entry, working_dir=work).uri == paths[2]
