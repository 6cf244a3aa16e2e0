"""The fake AWS pieces the sandbox, the tests and the benchmarks share.

`events` builds the EventBridge and API Gateway events the handlers receive, `moto` makes moto behave
like the services under concurrency, `gateway` plays API Gateway's IAM authorization in front of the
`api` handler, `calls` counts the AWS calls code makes.
"""
