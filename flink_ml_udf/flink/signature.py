"""How a config entry's SQL function maps onto its bundle: which bundle input each SQL argument
feeds, which outputs form the result, and the SQL types of both.

Kept free of PyFlink so that it can be checked (and explained in errors) on any machine; the SQL
types themselves (names, PyFlink types, result casts) are the rows of :mod:`~flink_ml_udf.flink.sql_types`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, List, Mapping, Optional, Sequence, Tuple

from flink_ml_udf.config import UdfEntry, Variant
from flink_ml_udf.errors import ConfigError
from flink_ml_udf.flink.sql_types import RESULT_TYPES, column_sql_type, sql_type
from flink_ml_udf.mleap import Model
from flink_ml_udf.mleap.ops import Column
from flink_ml_udf.mleap.types import DOUBLE, NUMERIC_BASES, STRING, DataType

#: Outputs that are not bundle columns but say which model scored the row: ``outputs`` may name
#: them besides the bundle's columns (each is a STRING, the same for every row of a batch).
PSEUDO_OUTPUTS: Mapping[str, str] = {
    "model_version": "the version of the bundle that scored the row (S3 VersionId, GCS generation, sha256:...)",
    "model_uri": "the URI (or local path) of the bundle that scored the row",
}


def sql_type_name(dtype: DataType) -> str:
    """The SQL type of a bundle column (:func:`~flink_ml_udf.flink.sql_types.column_sql_type`)."""
    return column_sql_type(dtype).name


@dataclass(frozen=True)
class Signature:
    """Arguments (bundle input columns, in SQL argument order) and results (bundle output columns)."""

    arguments: Tuple[Column, ...]
    results: Tuple[Column, ...]
    result_type_override: Optional[str] = None
    pseudo: FrozenSet[str] = frozenset()  # names among ``results`` the bundle does not compute
    split_key: Optional[str] = None  # an experiment's routing argument: ``arguments[0]``, never a bundle input
    # ``inputs_mode: scalars``: the bundle's only input, a tensor whose elements are the (bundle) arguments in order
    packed: Optional[Column] = None

    @property
    def bundle_arguments(self) -> Tuple[Column, ...]:
        """The arguments the bundle reads (all but an experiment's split key)."""
        return self.arguments[1:] if self.split_key is not None else self.arguments

    @property
    def bundle_results(self) -> Tuple[Column, ...]:
        """The results the bundle computes (every result but the pseudo-outputs)."""
        return tuple(c for c in self.results if c.name not in self.pseudo)

    @property
    def argument_types(self) -> Tuple[str, ...]:
        return tuple(sql_type_name(c.dtype) for c in self.arguments)

    @property
    def is_row(self) -> bool:
        return len(self.results) > 1

    @property
    def result_types(self) -> Tuple[str, ...]:
        if self.result_type_override is not None:
            return (self.result_type_override,)
        return tuple(sql_type_name(c.dtype) for c in self.results)

    def same_sql_shape(self, other: "Signature") -> bool:
        """Whether ``other`` has the same SQL arguments and result (names and types), so a model with
        it can replace one with this signature in a running job."""
        return self._sql_shape() == other._sql_shape()

    def _sql_shape(self) -> tuple:
        return (
            [c.name for c in self.arguments],
            self.argument_types,
            [c.name for c in self.results],
            self.result_types,
        )

    def explain_arguments(self) -> str:
        """What the SQL arguments are, for errors about a call with the wrong number of them."""
        typed = [f"{c.name} {t}" for c, t in zip(self.arguments, self.argument_types)]
        parts = []
        if self.split_key is not None:
            parts.append(f"the split key {typed.pop(0)}")
        if self.packed is not None:
            size = len(typed)
            parts.append(
                f"{_plural(size, 'DOUBLE value')} packed in order into the bundle's tensor input "
                f"{self.packed.name!r} of size {size}"
            )
        else:
            parts += typed
        return f"takes {_plural(len(self.arguments), 'argument')}: " + ", ".join(parts)

    def describe(self, name: str) -> str:
        """``Predict(feature1 DOUBLE, ...) -> DOUBLE``: the SQL-facing shape of the function."""
        arguments = ", ".join(f"{c.name} {t}" for c, t in zip(self.arguments, self.argument_types))
        if self.is_row:
            fields = ", ".join(f"{c.name} {t}" for c, t in zip(self.results, self.result_types))
            return f"{name}({arguments}) -> ROW<{fields}>"
        return f"{name}({arguments}) -> {self.result_types[0]}"


def derive_signature(entry: UdfEntry, model: Model) -> Signature:
    """Match the entry's ``inputs``/``outputs`` (or the bundle's defaults) against the bundle."""
    where = f"{entry.label} → bundle {entry.bundle_path}"
    if entry.inputs is None:
        arguments = tuple(model.input_schema)
    else:
        arguments = _pick(entry.inputs, model.input_schema, f"{where} → key 'inputs'", "input")
        missing = [c.name for c in model.input_schema if c.name not in entry.inputs]
        if missing:
            raise ConfigError(
                f"{where} → key 'inputs': the bundle also needs {', '.join(map(repr, missing))}; "
                f"list every input column in SQL argument order"
            )
        if len(set(entry.inputs)) != len(entry.inputs):
            raise ConfigError(f"{where} → key 'inputs': a column is listed twice")
    pseudo = frozenset(name for name in entry.outputs or () if name in PSEUDO_OUTPUTS)
    if entry.outputs is None:
        results = (model.prediction_column,)
    else:
        shadowed = sorted(name for name in pseudo if any(c.name == name for c in model.output_schema))
        if shadowed:
            raise ConfigError(
                f"{where} → key 'outputs': {', '.join(map(repr, shadowed))} is both a bundle output column and the "
                "pseudo-output naming the model; rename the bundle's column"
            )
        pseudo_columns = [Column(name, STRING) for name in PSEUDO_OUTPUTS]
        results = _pick(
            entry.outputs,
            model.output_schema + pseudo_columns,
            f"{where} → key 'outputs'",
            "output",
            also=f" or the pseudo-outputs ({', '.join(PSEUDO_OUTPUTS)})",
        )
        if len(set(entry.outputs)) != len(entry.outputs):
            raise ConfigError(f"{where} → key 'outputs': a column is listed twice")
        if len(pseudo) == len(results):
            raise ConfigError(f"{where} → key 'outputs': name at least one bundle output besides {', '.join(pseudo)}")

    packed = _packed_tensor(entry, arguments, where)
    if packed is not None:
        arguments = tuple(Column(f"{packed.name}[{i}]", DOUBLE) for i in range(packed.dtype.size))

    override = None
    if entry.result_type is not None:
        override = entry.result_type.strip().upper()
        if len(results) > 1:
            raise ConfigError(f"{where} → key 'result_type': only a single-column result can be overridden")
        if override not in RESULT_TYPES:
            raise ConfigError(
                f"{where} → key 'result_type': {entry.result_type!r} is not one of {', '.join(RESULT_TYPES)}"
            )
    return Signature(arguments, results, override, pseudo, packed=packed)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _packed_tensor(entry: UdfEntry, arguments: Tuple[Column, ...], where: str) -> Optional[Column]:
    """The tensor input that SQL's scalar arguments fill (``inputs_mode: scalars``, the default for
    a bundle whose only input is a numeric tensor of known size), or None for one argument per input."""
    if entry.inputs_mode == "array":
        return None
    only = arguments[0] if len(arguments) == 1 else None
    if only is not None and only.dtype.shape == "tensor" and only.dtype.base in NUMERIC_BASES and only.dtype.size:
        return only
    if entry.inputs_mode == "scalars":
        found = ", ".join(f"{c.name} {c.dtype}" for c in arguments)
        raise ConfigError(
            f"{where} → key 'inputs_mode': 'scalars' packs the SQL arguments into the bundle's only input, which must "
            f"be a numeric tensor of known size; the bundle's inputs are {found}"
        )
    return None


#: The experiment's pseudo-output naming the variant that scored the row.
VARIANT_OUTPUT = "model_variant"
#: The prefix of the shadow's outputs: ``shadow_prediction`` is the shadow's ``prediction``.
SHADOW_PREFIX = "shadow_"


def experiment_signature(
    entry: UdfEntry, arms: Sequence[Tuple[Variant, Signature]], shadow: Optional[Tuple[Variant, Signature]]
) -> Signature:
    """The SQL signature of an experiment: the split key, then the bundle's arguments; the requested
    outputs, where ``model_variant`` names the variant and ``shadow_<column>`` is the shadow's
    ``<column>``. Every variant and the shadow must keep the first variant's SQL signature."""
    first_variant, first = arms[0]
    for variant, signature in list(arms[1:]) + ([shadow] if shadow is not None else []):
        if not signature.same_sql_shape(first):
            raise ConfigError(
                f"{variant.entry.label} → bundle {variant.entry.bundle_path}: gives "
                f"{signature.describe(entry.udf_name)}, but variant '{first_variant.name}' gives "
                f"{first.describe(entry.udf_name)}; every variant and the shadow must have the same arguments and result"
            )
    where = f"{entry.label} → key 'outputs'"
    by_name = {column.name: column for column in first.results}
    results: List[Column] = []
    pseudo = set(first.pseudo)
    for name in entry.outputs or (first.results[0].name,):
        if name == VARIANT_OUTPUT:
            if not entry.variants:
                raise ConfigError(f"{where}: '{VARIANT_OUTPUT}' needs variants")
            results.append(Column(name, STRING))
            pseudo.add(name)
        elif name.startswith(SHADOW_PREFIX):
            column = by_name.get(name[len(SHADOW_PREFIX) :])
            if shadow is None:
                raise ConfigError(f"{where}: {name!r} needs a shadow")
            if column is None or column.name in first.pseudo:
                raise ConfigError(
                    f"{where}: {name!r} is the shadow's {name[len(SHADOW_PREFIX) :]!r}, which must be among the outputs "
                    f"too ({', '.join(c.name for c in first.bundle_results)})"
                )
            results.append(Column(name, column.dtype))
            pseudo.add(name)
        else:
            results.append(by_name[name])
    key_type = sql_type(entry.split_key_type).frame_type
    arguments = first.arguments
    if entry.split_key is not None:
        if any(column.name == entry.split_key for column in arguments):
            raise ConfigError(
                f"{entry.label} → key 'split_key': {entry.split_key!r} is also a bundle input; name it apart"
            )
        arguments = (Column(entry.split_key, key_type),) + tuple(arguments)
    return Signature(
        arguments, tuple(results), first.result_type_override, frozenset(pseudo), entry.split_key, first.packed
    )


def compatible_signature(entry: UdfEntry, model: Model, registered: Signature, where: str) -> Signature:
    """The signature of ``model`` for ``entry``, which must keep the ``registered`` SQL arguments and
    result (a model update for a running job, or one about to be promoted); ``where`` names the bundle."""
    signature = derive_signature(entry, model)
    if not signature.same_sql_shape(registered):
        raise ConfigError(
            f"{entry.label} → {where}: incompatible with the registered function: registered "
            f"{registered.describe(entry.udf_name)}, this bundle gives {signature.describe(entry.udf_name)}"
        )
    return signature


def _pick(names: Tuple[str, ...], columns: List[Column], where: str, side: str, also: str = "") -> Tuple[Column, ...]:
    """The columns called ``names``, in that order; unknown names are an error listing the bundle's
    columns (and ``also``, the other choices)."""
    available = {c.name: c for c in columns}
    unknown = [name for name in names if name not in available]
    if unknown:
        bundle = [c.name for c in columns if not (also and c.name in PSEUDO_OUTPUTS)]
        raise ConfigError(
            f"{where}: {', '.join(map(repr, unknown))} not among the bundle's {side} columns ({', '.join(bundle)}){also}"
        )
    return tuple(available[name] for name in names)
