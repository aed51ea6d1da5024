#!/usr/bin/env python3
"""A cloud instance-metadata endpoint on loopback, for the demo, tests and
benchmarks of spot notices: it answers as AWS (IMDSv2 token, then
/latest/meta-data/spot/instance-action) and GCP
(/computeMetadata/v1/instance/preempted) do.

usage: metadata_server.py PORT_FILE NOTICE_FILE
It binds 127.0.0.1 on a free port and writes the port to PORT_FILE. While
NOTICE_FILE does not exist there is no notice (AWS: 404, GCP: FALSE). Once
it exists, holding a number of seconds S, the notice says the machine goes
away S seconds after the file appeared (AWS: 200 with the JSON action and
time, GCP: TRUE). Every request is logged on stderr with the time."""
import datetime
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, NOTICE_FILE = sys.argv[1], sys.argv[2]
TOKEN = "tern-test-token"


def notice():
    """The deadline (unix seconds) of the notice, or None."""
    try:
        with open(NOTICE_FILE) as f:
            secs = float(f.read().strip() or "30")
        return os.stat(NOTICE_FILE).st_mtime + secs
    except (OSError, ValueError):
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path == "/latest/api/token" and \
                self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.answer(200, TOKEN)
        else:
            self.answer(400, "bad token request")

    def do_GET(self):
        deadline = notice()
        if self.path == "/latest/meta-data/spot/instance-action":
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                self.answer(401, "token required")
            elif deadline is None:
                self.answer(404, "Not Found")
            else:
                when = datetime.datetime.fromtimestamp(deadline, datetime.timezone.utc)
                self.answer(200, json.dumps({
                    "action": "terminate",
                    "time": when.strftime("%Y-%m-%dT%H:%M:%SZ")}), "application/json")
        elif self.path == "/computeMetadata/v1/instance/preempted":
            if self.headers.get("Metadata-Flavor") != "Google":
                self.answer(403, "Missing Metadata-Flavor:Google header")
            else:
                self.answer(200, "TRUE" if deadline is not None else "FALSE")
        else:
            self.answer(404, "Not Found")

    def log_message(self, fmt, *args):
        sys.stderr.write("%.3f %s\n" % (time.time(), fmt % args))


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
