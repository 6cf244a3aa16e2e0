"""Pulumi components of mlgov, one concern per module (type tokens `mlgov:<module>:<Type>`)."""
