"""The error a stack's config raises when it cannot be deployed; pure, so config parsing needs no Pulumi."""
from __future__ import annotations


class ConfigError(ValueError):
    """A stack config that cannot be deployed; the message is meant for the person who wrote it."""
