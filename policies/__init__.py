"""The mlgov CrossGuard policy pack; `rules.ALL_POLICIES` are its rules (see __main__.py for how it is served)."""
