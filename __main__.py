"""Pulumi entry point: `pulumi up` on any stack (shared, dev, test, prod) runs this program."""
from mlgov.program import main

main()
