"""moto in server mode, one request at a time.

moto's own server is threaded, and its DynamoDB transactions are not isolated from requests
running beside them: it checks conditions without a lock and rolls back by restoring a snapshot
of the whole table, which can erase a concurrent writer's items. Real DynamoDB is atomic, so the
local stack serializes requests to behave like it.

That snapshot is also a deep copy of the whole table for every item of every transaction, which
makes a transaction's cost grow with the table (seconds at 50,000 items). Here a transaction saves
only the items it touches and restores those when it is cancelled. Usage: moto_server.py HOST PORT
"""

import copy
import os
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class CopyButTables:
    """The `copy` module as moto's DynamoDB models see it: tables are not copied whole."""

    def deepcopy(self, value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


def touched(backend, transact_items):
    """(table, hash, range, saved item or None) for every item a transaction names."""
    out = []
    for entry in transact_items:
        op = next(iter(entry.values()), {})
        table = backend.tables.get(op.get("TableName"))
        key = op.get("Key") or op.get("Item") or {}
        if table is None or table.hash_key_attr not in key:
            continue  # moto rejects it itself; nothing of it is written
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
        if table.range_key_attr is not None and range_value is None:
            continue
        out.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
    return out


def restore(table, hash_value, range_value, item):
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
    elif item is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = item


def transactions_save_what_they_touch():
    dynamodb_models.copy = CopyButTables()
    transact = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        saved = touched(self, transact_items)
        try:
            return transact(self, transact_items)
        except Exception:
            for entry in reversed(saved):
                restore(*entry)
            raise

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


def serialized(app):
    lock = threading.Lock()

    def call(environ, start_response):
        with lock:
            # Consume the whole response inside the lock: moto may build it lazily.
            return list(app(environ, start_response))

    return call


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    transactions_save_what_they_touch()
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serialized(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
