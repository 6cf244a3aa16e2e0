"""The mlgov components as a Pulumi package: PulumiPlugin.yaml, the provider host and its schema."""
