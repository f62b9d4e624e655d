"""moto's server on a loopback port this process binds itself, with MOTO_PORT set to that port.

moto's Step Functions interpreter calls Lambda and the other services through boto3 at
http://localhost:$MOTO_PORT. `moto_server -p 0` sets MOTO_PORT to 0 before it binds, so the
interpreter cannot reach its own server; binding first and then serving the socket can.
Prints "Running on http://127.0.0.1:<port>" to stderr, as moto_server does.

With MOTO_SERIAL=1 it answers one request at a time: DynamoDB applies conditional writes to an
item one after another, and moto's threaded server checks and writes in separate steps, so two
concurrent conditional deletes could both succeed there and never on AWS.
"""

import os
import socket
import sys

from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(128)
port = listener.getsockname()[1]
os.environ["MOTO_PORT"] = str(port)

app = DomainDispatcherApplication(create_backend_app)
server = make_server(
    "127.0.0.1",
    port,
    app,
    threaded=os.environ.get("MOTO_SERIAL") != "1",
    request_handler=MotoRequestHandler,
    fd=listener.fileno(),
)
print(f"Running on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
server.serve_forever()
