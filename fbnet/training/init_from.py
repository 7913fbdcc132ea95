"""Start a new run from trained weights (``training.init_from`` / ``train.py --init-from``).

The source is a ``.keras`` file written by this project (a checkpoint, a shipped model) or a run
directory, whose best checkpoint is used (its last one when no epoch was validated). The
weights must fit the run's model exactly (same class and constructor arguments, except those
its class lists in ``WEIGHT_FREE_ARGS``, which change the computation but not the weights, e.g.
FBNet's ``flow_coarse_levels``): nothing is partially loaded. Optimizer state and the step
counter are not taken over; this is a warm start of a new stage, not a resume.
"""

from __future__ import annotations

from pathlib import Path

import keras


def init_source(source: str | Path) -> Path:
    """The ``.keras`` file that ``source`` names (a file, or a run directory's best/last)."""
    from fbnet.training.run_dir import resolve_checkpoint

    path = Path(source)
    if path.is_dir():
        try:
            return resolve_checkpoint(path, "best")
        except FileNotFoundError:
            return resolve_checkpoint(path, "last")
    if path.suffix != ".keras" or not path.is_file():
        raise FileNotFoundError(
            f"training.init_from must be a .keras file or a run directory, got {str(source)!r}"
        )
    return path


def init_weights(model: keras.Model, source: str | Path) -> Path:
    """Load the weights of ``source`` into the built ``model``; returns the file used.

    Raises:
        FileNotFoundError: no such file or run.
        ValueError: the file holds a differently configured model.
    """
    from fbnet.models.params import check_keras_file_matches

    path = init_source(source)
    check_keras_file_matches(path, model, ignore=getattr(type(model), "WEIGHT_FREE_ARGS", ()))
    source_model = keras.saving.load_model(path, compile=False)
    model.set_weights(source_model.get_weights())
    return path
