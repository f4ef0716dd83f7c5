"""The application layer: the `reds` command (``cli``), ``demo``, ``compare`` and ``execute``
(`reds exec`). It sits above the library ``reds`` (train, plan, export, golden reference) and
the bench ``reds_bench`` (boards), and stays thin: see docs/architecture.md.
"""
