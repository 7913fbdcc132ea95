"""Training: typed configs, the run directory, checkpoints/resume, TensorBoard, distribution.

``python train.py --model NAME`` is the entry point (:mod:`fbnet.training.cli`);
:func:`fbnet.training.trainer.train` runs a resolved :class:`~fbnet.training.config.TrainConfig`
and :func:`fbnet.training.run_dir.load_run_model` loads a trained run for inference (tools load
runs, files and shipped models through :func:`fbnet.loading.load_model`). ``RunDir`` and
``CheckpointManager`` own the run directory's format. Submodules import TensorFlow lazily where
they can, so configs can be handled without it.
"""
