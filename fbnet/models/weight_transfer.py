"""Partial weight copy between two models by variable path (warm-starting a variant).

A variable's path is its Keras ``variable.path`` with the model's own name removed, e.g.
``bidirectional_flow/estimator_1/conv_0/kernel``; it is made of the layer names, so two models
built from the same layers share paths for the parts they have in common. That is how
``FBNet(flow_finest_level=1)`` takes over the weights of a default FBNet (every layer except the
full-resolution flow estimator ``estimator_0``), e.g. from the shipped model::

    fast = FBNet(flow_finest_level=1)
    fast(example_inputs)  # build
    report = copy_matching_weights(load_pretrained("fbnet"), fast)
    print(report.skipped_source)  # ['bidirectional_flow/estimator_0/conv_0/kernel', ...]

Nothing is copied where the shapes differ; the report lists every path that was not copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class WeightCopyReport:
    """What :func:`copy_matching_weights` did, by variable path.

    Attributes:
        copied: paths copied from source to target.
        skipped_source: source paths with no target variable of that path (not used).
        skipped_target: target paths with no source variable (left as they were).
        shape_mismatch: ``{path: (source shape, target shape)}``, not copied.
    """

    copied: list[str] = field(default_factory=list)
    skipped_source: list[str] = field(default_factory=list)
    skipped_target: list[str] = field(default_factory=list)
    shape_mismatch: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "copied": len(self.copied),
            "skipped_source": self.skipped_source,
            "skipped_target": self.skipped_target,
            "shape_mismatch": {k: [list(a), list(b)] for k, (a, b) in self.shape_mismatch.items()},
        }


def variable_paths(model: Any) -> dict[str, Any]:
    """``{path: variable}`` for every weight of a built model, paths without the model's name."""
    if not model.built or not model.weights:
        raise ValueError(f"model {model.name!r} has no weights yet: call it once to build it")
    prefix = f"{model.name}/"
    paths = {}
    for variable in model.weights:
        path = variable.path
        path = path[len(prefix) :] if path.startswith(prefix) else path
        if path in paths:
            raise ValueError(f"model {model.name!r} has two weights with the path {path!r}")
        paths[path] = variable
    return paths


def copy_matching_weights(
    source: Any, target: Any, strict_shapes: bool = False
) -> WeightCopyReport:
    """Copy every weight of ``source`` into the ``target`` weight of the same path and shape.

    Args:
        source: a built Keras model (or layer) to copy from.
        target: a built Keras model (or layer) to copy into; weights without a match keep their
            values.
        strict_shapes: raise ``ValueError`` on a path present in both with different shapes
            instead of skipping it.

    Returns:
        A :class:`WeightCopyReport`.
    """
    source_paths = variable_paths(source)
    target_paths = variable_paths(target)
    report = WeightCopyReport()
    for path, variable in source_paths.items():
        other = target_paths.get(path)
        if other is None:
            report.skipped_source.append(path)
            continue
        source_shape, target_shape = tuple(variable.shape), tuple(other.shape)
        if source_shape != target_shape:
            if strict_shapes:
                raise ValueError(
                    f"weight {path!r} has shape {source_shape} in the source and "
                    f"{target_shape} in the target"
                )
            report.shape_mismatch[path] = (source_shape, target_shape)
            continue
        other.assign(variable.value)
        report.copied.append(path)
    report.skipped_target = [path for path in target_paths if path not in source_paths]
    return report
