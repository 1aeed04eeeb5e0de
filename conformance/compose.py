#!/usr/bin/env python3
"""The docker-compose stack's own settings, proven without Docker: `docker-compose config`
validates the file, then the `xqt` service's environment — exactly as compose resolves it — is
given to the built server (service names mapped to this machine's PostgreSQL, Redis and the
`xqt-fakes` stand-ins; `/tls` to a temporary folder), with a fresh database. The server must
start in production mode on it, answer over HTTPS only, and sign a person in end to end: a code
requested through GraphQL is delivered by the Aliyun SMS stand-in, read from its output, and
exchanged for a session.

    python3 conformance/compose.py target/debug/xqt target/debug/xqt-fakes

Needs PostgreSQL (XQT_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test),
Redis (XQT_TEST_REDIS_URL, default redis://127.0.0.1:6379) and `docker-compose` (Debian's).
"""

import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
xqt, fakes = (os.path.abspath(p) for p in sys.argv[1:3])
admin_url = os.environ.get("XQT_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
redis_url = os.environ.get("XQT_TEST_REDIS_URL", "redis://127.0.0.1:6379")

config = subprocess.run(["docker-compose", "-f", os.path.join(root, "docker-compose.yml"), "config"],
                        check=True, capture_output=True, text=True).stdout
stack = yaml.safe_load(config)
env = {k: str(v) for k, v in stack["services"]["xqt"]["environment"].items()}
assert env["XQT_ENV"] == "production", env

work = tempfile.mkdtemp(prefix="xqt-compose-")
database = "xqt_compose_" + secrets.token_hex(6)
subprocess.run(["psql", admin_url, "-qc", f'CREATE DATABASE "{database}"'], check=True)
base_url, _ = admin_url.rsplit("/", 1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
# The compose network's names, on this machine.
mapped = {}
for key, value in env.items():
    value = value.replace("postgres://xqt:xqt@postgres:5432/xqt", f"{base_url}/{database}")
    value = value.replace("redis://redis:6379", redis_url)
    value = value.replace("http://fakes:", "http://127.0.0.1:")
    value = value.replace("/tls/", f"{work}/tls/")
    mapped[key] = value
mapped.update({
    "XQT_LISTEN": f"127.0.0.1:{port}",
    "XQT_DATA_DIR": f"{work}/data",
    # A prefix of its own, so the shared Redis holds nothing of another run.
    "XQT_REDIS_PREFIX": f"compose-{secrets.token_hex(4)}:",
})
procs = []
try:
    fake_out = open(f"{work}/fakes.log", "w+")
    procs.append(subprocess.Popen([fakes], stdout=fake_out, stderr=subprocess.STDOUT,
                                  env={**os.environ, "XQT_FAKES_HOST": "127.0.0.1", "XQT_FAKES_TLS_DIR": f"{work}/tls"}))
    for _ in range(100):
        if os.path.exists(f"{work}/tls/key.pem"):
            break
        time.sleep(0.1)
    server_log = open(f"{work}/server.log", "w+")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XQT_")}
    procs.append(subprocess.Popen([xqt, "serve"], stdout=server_log, stderr=subprocess.STDOUT,
                                  env={**clean, **mapped}))
    tls = ssl.create_default_context(cafile=f"{work}/tls/cert.pem")
    base = f"https://localhost:{port}"

    def call(query, variables=None, token=None):
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(f"{base}/graphql", data=body, method="POST",
                                     headers={"content-type": "application/json", "accept": "application/json"})
        if token:
            req.add_header("authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, context=tls, timeout=10) as resp:
            return json.load(resp), resp.headers

    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/readyz", context=tls, timeout=2) as resp:
                if resp.status == 200:
                    break
        except Exception:
            if procs[1].poll() is not None:
                server_log.seek(0)
                sys.exit(f"the server did not start on the compose settings:\n{server_log.read()}")
            time.sleep(0.2)
    else:
        sys.exit("the server never became ready")

    # Plain HTTP on the same port is not served.
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        sys.exit("plain HTTP was answered in production")
    except Exception:
        pass

    phone = "139" + "".join(secrets.choice("0123456789") for _ in range(8))
    answer, headers = call("mutation($p: String!) { requestSignInCode(phone: $p) }", {"p": phone})
    assert answer.get("data", {}).get("requestSignInCode") is True, answer
    assert "max-age" in headers.get("strict-transport-security", ""), dict(headers)
    code = None
    for _ in range(100):
        fake_out.seek(0)
        found = re.findall(rf"sms to {phone}: code (\d{{6}})", fake_out.read())
        if found:
            code = found[-1]
            break
        time.sleep(0.1)
    assert code, "the Aliyun SMS stand-in received no code"
    answer, _ = call(
        "mutation($i: SignInWithCodeInput!) { signInWithCode(input: $i) { accessToken me { id } } }",
        {"i": {"phone": phone, "code": code, "device": {"deviceId": "compose", "model": "demo", "os": "demo"}}})
    token = answer["data"]["signInWithCode"]["accessToken"]
    me, _ = call("{ me { id } }", token=token)
    assert me["data"]["me"]["id"] == answer["data"]["signInWithCode"]["me"]["id"], me
    print(f"compose: docker-compose.yml validated; its xqt settings start production over HTTPS; "
          f"a person signed in with the code the Aliyun SMS stand-in delivered ({phone[:3]}****{phone[-4:]})")
finally:
    for p in reversed(procs):
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    subprocess.run(["psql", admin_url, "-qc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], check=False)
