"""REDS: Resource-Efficient Deep Subnetworks for microcontrollers.

Pipeline stages, one module each: ``zoo`` (models), ``datasets``, ``importance``, ``planner``,
``permute``, ``finetune``, ``export`` (int8 + metadata), ``metadata``, ``slicing``, ``runtime``
(ctypes binding to the C runtime), ``firmware`` (PlatformIO builds and emulators). The CLI
(``reds``) in ``cli`` is a thin layer over them.
"""

__version__ = "0.1.0"
