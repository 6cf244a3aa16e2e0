"""mlgov infrastructure: the typed stack config, the program that composes components, the offline engine."""
