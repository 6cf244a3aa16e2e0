"""moto made to behave like the services under concurrency, and affordably; shared by sandbox, tests and benchmarks.

1. moto's DynamoDB applies a transaction as check-then-write without a lock (and restores a whole-table
   backup on failure), so concurrent requests could interleave inside one "transaction". Real DynamoDB
   serialises them; handling one moto request at a time (`REQUEST_LOCK`, in-process through `install`
   and over HTTP through `server`) gives moto the same property. Client code still runs concurrently,
   so races between requests stay real.
2. moto backs up the *whole table* with copy.deepcopy before every transaction (for rollback): O(table)
   deep copies per write. Our transactions only Put items and SET top-level attributes, which replace
   Item objects or entries of Item.attrs, so copying the item maps and each attrs dict is an equivalent
   backup at a fraction of the cost (requests are serialised by 1, so nothing races it).
"""
from __future__ import annotations

import copy as _copy
import threading
from collections import defaultdict as _defaultdict
from typing import Any, Iterable, Mapping

REQUEST_LOCK = threading.RLock()
_installed = False


def install() -> None:
    """Patch moto in this process (idempotent): serialised in-process requests, cheap rollback backups."""
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as ddb_models
    from moto.core import botocore_stubber
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict
    from moto.dynamodb.models.table import Table

    original = botocore_stubber.BotocoreStubber.process_request

    def serialised(self, request):
        with REQUEST_LOCK:
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


def server(port: int = 0, ip_address: str = "127.0.0.1") -> Any:
    """moto's ThreadedMotoServer (not started) whose WSGI app handles one request at a time under `REQUEST_LOCK`."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class LockedMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)

            def serialised(environ, start_response):
                with REQUEST_LOCK:
                    return list(app(environ, start_response))

            self._server = make_server(self._ip_address, self._port, serialised, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return LockedMotoServer(ip_address=ip_address, port=port, verbose=False)


# --- one account's state in moto's backends (in this process) ---

def reset(account: str, region: str, services: Iterable[str]) -> None:
    """Forget an account's state in these services; other accounts (other moto users) keep theirs."""
    from moto.backends import get_backend

    for service in services:
        backends = get_backend(service)
        if account in backends and region in backends[account]:
            backends[account][region].reset()


def snapshot(account: str, region: str, services: Iterable[str]) -> dict[str, Any]:
    """A deep copy of an account's state in these services."""
    from moto.backends import get_backend

    return {s: _copy.deepcopy(get_backend(s)[account][region]) for s in services}


def restore(account: str, region: str, saved: Mapping[str, Any]) -> None:
    """Put a `snapshot` back in place of the account's state."""
    from moto.backends import get_backend

    for service, backend in saved.items():
        get_backend(service)[account][region] = _copy.deepcopy(backend)


def table_items(account: str, region: str, table: str) -> list[dict[str, Any]]:
    """Every item of a DynamoDB table in DynamoDB JSON, read from moto's backend (inspection, not an AWS call)."""
    from moto.dynamodb.models import dynamodb_backends

    return [item.to_json()["Attributes"] for item in dynamodb_backends[account][region].tables[table].all_items()]
