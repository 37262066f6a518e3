"""Builders shared by every test directory (``tests/`` is on ``sys.path``, pyproject).

- ``testing.project``: a project folder, ``campaigns.yaml`` and the data files beside it.
- ``testing.seed``: an emulator seed, by hand or for a project.
- ``testing.clock``: a clock a test moves by hand instead of sleeping.
- ``testing.plans``: a project to plan and a ledger as earlier runs left it.

A directory's own helpers (``apply_helpers``, ``emulator_testing`` ...) build on these.
"""
