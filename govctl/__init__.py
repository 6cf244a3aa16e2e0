"""govctl: the people-facing tools of mlgov (approve, audit, gate and promote, dashboard, local sandbox)."""
