"""Former home of the hub handlers' Lambda component, replaced by `components.function.Function`.

Only the runtime name is left here, for tests/policies/test_pack.py until it imports it from `components.function`.
"""
from components.function import RUNTIME  # noqa: F401
