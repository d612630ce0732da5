"""A TLS-terminating proxy in front of a plaintext Kafka broker (msma dev-broker), for
the TLS and SASL tests: a broker that requires TLS, and optionally SASL SCRAM, which
librdkafka's mock cluster does not speak.

- Clients connect over TLS; each connection is relayed to the broker in plaintext.
- The broker advertises its own address in its metadata; the proxy listens on the same
  port of another loopback address, and rewrites the address, of the same length, in
  the broker's answers, so that clients come back through the proxy.
- With --scram, the proxy itself authenticates each connection (RFC 5802 and 7677:
  SaslHandshake, then SaslAuthenticate), adds the two SASL requests to the broker's
  ApiVersions answer, and relays nothing else until the client has authenticated.

Usage: kafka_tls_proxy.py LISTEN_HOST UPSTREAM_HOST PORT CERT KEY
       [--scram MECHANISM USER PASSWORD]
Prints "listening" once it accepts connections; logs refusals on standard error.
"""

import asyncio
import base64
import hashlib
import hmac
import os
import ssl
import struct
import sys

SASL_HANDSHAKE, API_VERSIONS, SASL_AUTHENTICATE = 17, 18, 36
SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE = 58, 33, 34


def log(*what):
    print("proxy:", *what, file=sys.stderr, flush=True)


async def read_frame(reader):
    try:
        size = struct.unpack(">i", await reader.readexactly(4))[0]
        return await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        return None


def frame(body):
    return struct.pack(">i", len(body)) + body


def uvarint(data, i):
    value, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def put_uvarint(value):
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def with_sasl_apis(response, version):
    """The broker's ApiVersions answer with SaslHandshake v0-1 and SaslAuthenticate v0-1."""
    head, i = response[:6], 6  # correlation id, error code
    extra = [(SASL_HANDSHAKE, 0, 1), (SASL_AUTHENTICATE, 0, 1)]
    if version >= 3:  # flexible: compact array, tagged fields after each entry
        count, i = uvarint(response, i)
        start = i
        for _ in range(count - 1):
            i += 6
            tags, i = uvarint(response, i)
            for _ in range(tags):
                _, i = uvarint(response, i)
                size, i = uvarint(response, i)
                i += size
        entries = response[start:i] + b"".join(struct.pack(">hhhB", *e, 0) for e in extra)
        return head + put_uvarint(count + len(extra)) + entries + response[i:]
    count = struct.unpack(">i", response[i : i + 4])[0]
    end = i + 4 + 6 * count
    entries = response[i + 4 : end] + b"".join(struct.pack(">hhh", *e) for e in extra)
    return head + struct.pack(">i", count + len(extra)) + entries + response[end:]


def request_body(request):
    """The body of a request with a v1 header (SaslHandshake, SaslAuthenticate v0-1)."""
    client_id = struct.unpack(">h", request[8:10])[0]
    return request[10 + max(client_id, 0) :]


class Scram:
    """The server side of one SCRAM exchange."""

    def __init__(self, mechanism, user, password):
        self.mechanism, self.user, self.password = mechanism, user, password.encode()
        self.hash = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
        self.first = None

    def mac(self, key, text):
        return hmac.new(key, text, self.hash).digest()

    def step(self, message):
        """The server's answer, or None when the client failed to authenticate."""
        text = message.decode()
        if self.first is None:
            bare = text.split(",", 2)[2]
            attrs = dict(kv.split("=", 1) for kv in bare.split(","))
            nonce = attrs["r"] + base64.b64encode(os.urandom(18)).decode()
            self.salt = os.urandom(16)
            self.first = (attrs["n"], bare, f"r={nonce},s={base64.b64encode(self.salt).decode()},i=4096", nonce)
            return self.first[2].encode()
        user, bare, server_first, nonce = self.first
        without_proof, _, proof = text.rpartition(",p=")
        salted = hashlib.pbkdf2_hmac(self.hash, self.password, self.salt, 4096)
        client_key = self.mac(salted, b"Client Key")
        auth = f"{bare},{server_first},{without_proof}".encode()
        signature = self.mac(hashlib.new(self.hash, client_key).digest(), auth)
        expected = bytes(a ^ b for a, b in zip(client_key, signature))
        if user != self.user or f"r={nonce}" not in without_proof.split(","):
            return None
        if not hmac.compare_digest(base64.b64decode(proof), expected):
            return None
        server_key = self.mac(salted, b"Server Key")
        return b"v=" + base64.b64encode(self.mac(server_key, auth))


class Connection:
    def __init__(self, args, client_reader, client_writer):
        self.args = args
        self.client_reader, self.client_writer = client_reader, client_writer
        self.scram = Scram(*args.scram) if args.scram else None
        self.authenticated = self.scram is None
        self.api_versions = {}  # correlation id -> request version

    async def run(self):
        reader, writer = await asyncio.open_connection(self.args.upstream, self.args.port)
        tasks = [asyncio.create_task(self.from_client(writer)), asyncio.create_task(self.from_broker(reader))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        writer.close()
        self.client_writer.close()

    def answer(self, correlation, body):
        self.client_writer.write(frame(struct.pack(">i", correlation) + body))

    async def from_client(self, broker):
        while (request := await read_frame(self.client_reader)) is not None:
            key, version, correlation = struct.unpack(">hhi", request[:8])
            if self.scram and key == SASL_HANDSHAKE:
                mechanism = request_body(request)
                mechanism = mechanism[2 : 2 + struct.unpack(">h", mechanism[:2])[0]].decode()
                ok = mechanism == self.scram.mechanism
                offered = self.scram.mechanism.encode()
                error = 0 if ok else UNSUPPORTED_SASL_MECHANISM
                self.answer(correlation, struct.pack(">hih", error, 1, len(offered)) + offered)
            elif self.scram and key == SASL_AUTHENTICATE:
                body = request_body(request)
                reply = self.scram.step(body[4 : 4 + struct.unpack(">i", body[:4])[0]])
                lifetime = struct.pack(">q", 0) if version >= 1 else b""
                if reply is None:
                    log("SCRAM authentication failed")
                    message = b"Authentication failed: invalid credentials"
                    head = struct.pack(">hh", SASL_AUTHENTICATION_FAILED, len(message)) + message
                    self.answer(correlation, head + struct.pack(">i", 0) + lifetime)
                    await self.client_writer.drain()
                    return
                self.authenticated = reply.startswith(b"v=")
                self.answer(correlation, struct.pack(">hhi", 0, -1, len(reply)) + reply + lifetime)
            elif not self.authenticated and key != API_VERSIONS:
                log(f"request {key} before authentication: closed")
                return
            else:
                if key == API_VERSIONS:
                    self.api_versions[correlation] = version
                broker.write(frame(request))
            await self.client_writer.drain()

    async def from_broker(self, broker):
        while (response := await read_frame(broker)) is not None:
            correlation = struct.unpack(">i", response[:4])[0]
            version = self.api_versions.pop(correlation, None)
            if self.scram and version is not None:
                response = with_sasl_apis(response, version)
            self.client_writer.write(frame(response.replace(self.args.upstream_b, self.args.listen_b)))
            await self.client_writer.drain()


class Args:
    def __init__(self, argv):
        self.listen, self.upstream, port, self.cert, self.key = argv[:5]
        self.port = int(port)
        self.scram = argv[6:9] if argv[5:6] == ["--scram"] else None
        self.listen_b, self.upstream_b = self.listen.encode(), self.upstream.encode()
        assert len(self.listen_b) == len(self.upstream_b), "addresses of the same length"


async def main():
    args = Args(sys.argv[1:])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)

    async def serve(reader, writer):
        try:
            await Connection(args, reader, writer).run()
        except (ConnectionError, ssl.SSLError) as e:
            log("connection ended:", type(e).__name__)

    server = await asyncio.start_server(serve, args.listen, args.port, ssl=context)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
