"""A real local receiver for siq's notifications, for integration tests.

    message_sink.py smtp|http OUTDIR

Serves SMTP (Debian's aiosmtpd) or HTTP (the standard library) on a free
loopback port, writes that port to OUTDIR/port once it is listening, and
stores every message it receives as OUTDIR/NNNN.msg: the mail as received,
or the POST's body. An HTTP POST to a path that contains "/fail" is
answered 500, so tests can watch one channel fail. Runs until killed.
"""
import http.server
import itertools
import os
import socket
import sys
import threading
import time

OUTDIR = sys.argv[2]
COUNTER = itertools.count(1)
LOCK = threading.Lock()


def store(data):
    with LOCK:
        name = os.path.join(OUTDIR, "%04d.msg" % next(COUNTER))
    with open(name + ".tmp", "wb") as out:
        out.write(data)
    os.rename(name + ".tmp", name)


def announce(port):
    with open(os.path.join(OUTDIR, "port.tmp"), "w") as out:
        out.write(str(port))
    os.rename(os.path.join(OUTDIR, "port.tmp"), os.path.join(OUTDIR, "port"))


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if "/fail" in self.path:
            self.send_response(500)
        else:
            store(body)
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def serve_http():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    announce(server.server_address[1])
    server.serve_forever()


class Mailbox:
    async def handle_DATA(self, server, session, envelope):
        store(envelope.original_content or envelope.content)
        return "250 OK"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_smtp():
    from aiosmtpd.controller import Controller

    controller = Controller(Mailbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    announce(controller.port)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    serve_smtp() if sys.argv[1] == "smtp" else serve_http()
