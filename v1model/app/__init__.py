"""The applications on top of the three packages: the ``v1model`` command line and its jobs.

This is the only code of ``v1model`` that imports ``analysis`` (see the
architecture page of the docs).  Each job composes public functions of
``stimuli``, ``v1model`` and ``analysis``; the model registry
(:mod:`v1model.app.registry`) names the models the jobs can run.
"""
