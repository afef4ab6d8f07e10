#!/usr/bin/env python3
"""Plain-HTTP reverse proxy that adds `Authorization: Bearer <token>` to every request.

kubectl (client-go) refuses to send a bearer token over plain http, and the simulator serves plain http on
127.0.0.1; this lets kubectl reach it for the memory benchmark. Bodies are streamed in 64 KiB chunks.
Usage: auth-proxy.py LISTEN_PORT UPSTREAM_URL TOKEN
"""
import http.client
import http.server
import sys
import urllib.parse

port, upstream, token = int(sys.argv[1]), urllib.parse.urlparse(sys.argv[2]), sys.argv[3]


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization")}
        headers["Authorization"] = "Bearer " + token
        conn.request("GET", self.path, headers=headers)
        resp = conn.getresponse()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while True:
            chunk = resp.read(65536)
            if not chunk:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")
        conn.close()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
