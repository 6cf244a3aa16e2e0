"""The AWS calls code makes, counted through botocore's event hooks (`before-call.*.*`)."""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallCounter:
    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            with self.lock:
                self.counts[f"{model.service_model.service_name}:{model.name}"] += 1

    def total(self) -> int:
        return sum(self.counts.values())

    def snapshot(self) -> Counter:
        with self.lock:
            return Counter(self.counts)

    def since(self, before: Counter) -> Counter:
        now = self.snapshot()
        now.subtract(before)
        return +now
