"""moto in server mode, one request at a time.

moto's own server is threaded, and its DynamoDB transactions are not isolated from requests
running beside them: it checks conditions without a lock and rolls back by restoring a snapshot
of the whole table, which can erase a concurrent writer's items. Real DynamoDB is atomic, so the
local stack serializes requests to behave like it. Usage: moto_server.py HOST PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def serialized(app):
    lock = threading.Lock()

    def call(environ, start_response):
        with lock:
            # Consume the whole response inside the lock: moto may build it lazily.
            return list(app(environ, start_response))

    return call


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serialized(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
