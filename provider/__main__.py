"""Entry point the Pulumi Python language host runs for `pulumi package add` and every later use.

It runs as `python provider/ <engine address>`, with this folder first on `sys.path`: the repository root
goes there too so `components` and `governance` import as they do for the project's own program.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from provider import package  # noqa: E402

if __name__ == "__main__":
    package.serve(package.load())
