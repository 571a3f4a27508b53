"""pytest plugin (pytest11 entry point): reserved here; its fixture, assertion and report come later.

Kept importable and side-effect free so that installing the package never disturbs a
user's test run.
"""
