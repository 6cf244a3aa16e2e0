"""Session-wide test setup.

hypothesis is imported here, before any test module, because on CPython 3.11.7 its plugin importing
late at session end can fail the run ("AST constructor recursion depth mismatch") after every test passed.
"""
import hypothesis  # noqa: F401
