"""`python -m govctl ...` (the same as the `govctl` console script)."""
from govctl.cli import app

app(prog_name="govctl")
