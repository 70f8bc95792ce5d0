"""Prints a bearer token the local gateway accepts: HS256, signed with CPPO_LOCAL_JWT_SECRET
(default local-dev-secret), carrying the account ID in the CPPO_ACCOUNT_CLAIM claim (default
account_id), valid for an hour. Usage: mint_token.py ACCOUNT_ID [TTL_SECONDS]

Not named token.py: that would shadow the standard library's module for the scripts beside it."""

import base64
import hashlib
import hmac
import json
import os
import re
import sys
import time


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> int:
    if len(sys.argv) < 2 or not re.fullmatch(r"[0-9]{12}", sys.argv[1]):
        print("usage: make token ACCOUNT=<12-digit AWS account ID> [TTL=seconds]", file=sys.stderr)
        return 2
    account, ttl = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else 3600
    secret = os.environ.get("CPPO_LOCAL_JWT_SECRET") or "local-dev-secret"
    claim = os.environ.get("CPPO_ACCOUNT_CLAIM") or "account_id"
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"sub": account, claim: account, "iat": now, "exp": now + ttl}).encode())
    signature = b64(hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest())
    print(f"{header}.{payload}.{signature}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
