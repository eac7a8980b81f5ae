#!/usr/bin/python3
"""A local SMTP server and webhook endpoint for siq's integration tests.

Usage: notify_sink.py DIR

Listens on 127.0.0.1 on two free ports: SMTP (aiosmtpd, Debian's
python3-aiosmtpd) and HTTP. Every mail received is appended to DIR/mail.jsonl
as {"from", "to", "data"}; every HTTP POST body to DIR/hooks.jsonl as
{"path", "body"}; a GET answers the text in DIR/get.txt (a VPS's
confirmation endpoint). Once both listen, DIR/ports.json holds
{"smtp": N, "http": M}. Runs until killed.
"""
import http.server
import json
import os
import socket
import sys
import threading
import time

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def append(path, record):
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


class MailHandler:
    def __init__(self, directory):
        self.path = os.path.join(directory, "mail.jsonl")

    async def handle_DATA(self, server, session, envelope):
        append(self.path, {"from": envelope.mail_from,
                           "to": envelope.rcpt_tos,
                           "data": envelope.content.decode("utf-8", "replace")})
        return "250 OK"


def hook_handler(directory):
    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8", "replace")
            append(os.path.join(directory, "hooks.jsonl"),
                   {"path": self.path, "body": body})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_GET(self):
            try:
                with open(os.path.join(directory, "get.txt"), "rb") as f:
                    text = f.read()
            except FileNotFoundError:
                text = b""
            self.send_response(200)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args):
            pass

    return Hook


def main():
    directory = sys.argv[1]
    smtp_port = free_port()
    controller = Controller(MailHandler(directory), hostname="127.0.0.1",
                            port=smtp_port)
    controller.start()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             hook_handler(directory))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ports = os.path.join(directory, "ports.json")
    with open(ports + ".tmp", "w", encoding="utf-8") as out:
        json.dump({"smtp": smtp_port, "http": server.server_address[1]}, out)
    os.rename(ports + ".tmp", ports)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
