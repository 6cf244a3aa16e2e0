"""govctl's commands by what they do: `reads` (queue, versions, metrics, audit), `decisions` (approve,
reject, the gate, promote) and `local` (offline plan and check, dashboard, sandbox, demo). Each module's
`register(app)` adds its commands to the CLI."""
