"""Lambda code of a member account's stage deployment: the invoke proxy and the reporter.

Its archive is this directory plus `governance/__init__.py` and `governance/contract.py` (pure Python:
the settings and event names it shares with the hub); boto3 from the runtime, Powertools from AWS's
public layer. Logic lives in plain functions; the `handler`s are glue.
"""
