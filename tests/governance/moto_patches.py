"""Two adjustments to moto, shared by the tests and the benchmark.

1. moto's DynamoDB applies a transaction as check-then-write without a lock (and restores a whole-table
   backup on failure), so concurrent requests could interleave inside one "transaction". Real DynamoDB
   serialises them; handling one moto request at a time gives moto the same property. Client code still
   runs concurrently, so races between requests stay real.
2. moto backs up the *whole table* with copy.deepcopy before every transaction (for rollback): O(table)
   deep copies per write. Our transactions only Put items and SET top-level attributes, which replace
   Item objects or entries of Item.attrs, so copying the item maps and each attrs dict is an equivalent
   backup at a fraction of the cost (requests are serialised by 1, so nothing races it).
"""
from __future__ import annotations

import copy as _copy
import threading
from collections import defaultdict as _defaultdict

_installed = False
_moto_lock = threading.RLock()


def install() -> None:
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as ddb_models
    from moto.core import botocore_stubber
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict
    from moto.dynamodb.models.table import Table

    original = botocore_stubber.BotocoreStubber.process_request

    def serialised(self, request):
        with _moto_lock:
            return original(self, request)

    botocore_stubber.BotocoreStubber.process_request = serialised

    def item_backup(item):
        clone = _copy.copy(item)
        clone.attrs = LimitedSizeDict(item.attrs)
        return clone

    def table_backup(table):
        clone = _copy.copy(table)
        clone.items = _defaultdict(dict)
        for hash_key, ranges in table.items.items():
            clone.items[hash_key] = ({r: item_backup(i) for r, i in ranges.items()} if isinstance(ranges, dict)
                                     else item_backup(ranges))
        return clone

    class CopyForMoto:
        def __getattr__(self, name):
            return getattr(_copy, name)

        @staticmethod
        def deepcopy(obj, memo=None):
            if isinstance(obj, Table):
                return table_backup(obj)
            return _copy.deepcopy(obj, memo)

    ddb_models.copy = CopyForMoto()
    _installed = True
