"""REDS: Resource-Efficient Deep Subnetworks for microcontrollers.

The library layer: train, plan, export and the golden reference. Pipeline stages, one module
each: ``zoo`` (models), ``datasets``, ``pretrain``, ``importance``, ``planner``, ``permute``,
``finetune``, ``export`` (int8 + metadata), ``metadata``, ``slicing``, ``verify`` (TFLM, the
golden reference), ``runtime`` (ctypes binding to the C runtime). It never imports the bench
(``reds_bench``) or the application (``reds_app``, the ``reds`` command): docs/architecture.md.
"""

__version__ = "0.1.0"
