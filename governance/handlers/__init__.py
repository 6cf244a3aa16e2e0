"""Lambda entry points: thin adapters from events to `governance.service`."""
