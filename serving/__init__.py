"""Lambda code of a member account's stage deployment: the invoke proxy and the reporter.

Packaged alone (this directory is the whole Lambda archive): boto3 from the runtime, Powertools from
AWS's public layer. Logic lives in plain functions; the `handler`s are glue.
"""
