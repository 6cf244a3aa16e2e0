"""govctl's commands by what they do: `reads` (queue, versions, metrics, audit), `decisions` (approve,
reject, the gate, promote) and `local` (offline plan and check, dashboard, sandbox, demo). Each module's
`COMMANDS` pairs command names with functions; `govctl.cli` adds them to the app."""
