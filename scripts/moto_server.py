"""moto in server mode, as close to AWS as the local stack needs it.

- Atomic writes, concurrent everything else. moto's server is threaded, and its DynamoDB writes
  are not isolated from requests running beside them: a transaction checks conditions without a
  lock and rolls back by restoring what it saved, which can erase a concurrent writer's items or
  show a reader half a transaction. Real DynamoDB is atomic and serializable per item, so each
  table here has a readers-writer lock: writes to it (puts, updates, deletes, batches,
  transactions) run one at a time, reads of it run side by side but never during a write, and
  other tables, email and IAM are not locked at all. Races in the tests therefore race. SQS is
  the exception: moto's queues change their message lists without locks (a concurrent receive
  and delete can bring a deleted message back), so SQS requests take one lock of their own.
- A transaction saves only the items it touches and restores those when it is cancelled (moto
  deep-copies the whole table, seconds at 50,000 items).
- IAM enforced: with CPPO_IAM_TEMPLATE set to the SAM template, every request must be signed by a
  known IAM user (moto's INITIAL_NO_AUTH_ACTION_COUNT=0), and the launcher creates, in-process, an
  admin user whose keys are AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (`local`/`local` for the local
  stack and the tests' own set-up) and one user per function, `local-<binary>` with access key
  and secret `local-<binary>`, allowed exactly the actions of its role's policy in the template.
  moto checks actions, not resources (the tests match resources themselves), and it checks a
  transaction as `dynamodb:TransactWriteItems`, where AWS checks each item's action: a user whose
  policy allows writing items is also given that one action here, and nothing else is added.
- Presigned S3 URLs held to S3's rules: moto checks neither their signature nor their expiry (and
  with IAM enforced, it cannot read their query-string signature at all). Here a presigned request
  is refused, 403 as S3 refuses it, when its signature over the signed headers does not match or
  its X-Amz-Expires has passed in real time; otherwise it goes on signed in a header by the same
  key, so moto checks the signer's policy as for any other call.
- A transaction's ClientRequestToken kept as DynamoDB keeps it (moto ignores it): for 10 minutes
  after a transaction with a token committed, the same request with that token is answered as
  it was and changes nothing, and a different one with it gets IdempotentParameterMismatch. The
  SDKs fill the token in once per call and resend it on every retry, so a transaction whose
  answer was lost (a timeout, a 500) is retried without failing on its own writes.

Usage: moto_server.py HOST PORT
"""

import copy
import io
import json
import os
import sys
import threading
import time
from collections import defaultdict

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


def operations(backend, transact_items):
    """(operation, its table) for every item of a transaction whose table exists."""
    for entry in transact_items:
        op = next(iter(entry.values()), {})
        table = backend.tables.get(op.get("TableName"))
        if table is not None:
            yield op, table


def stream_lengths(backend, transact_items):
    """How many stream records each table a transaction names has, so a cancelled one leaves none."""
    shards = (table.stream_shard for _, table in operations(backend, transact_items))
    return {id(shard): (shard, len(shard.items)) for shard in shards if shard is not None}.values()


def touched(backend, transact_items):
    """(table, hash, range, saved item or None) for every item a transaction names."""
    out = []
    for op, table in operations(backend, transact_items):
        key = op.get("Key") or op.get("Item") or {}
        if table.hash_key_attr not in key:
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
        streams = list(stream_lengths(self, transact_items))
        try:
            return transact(self, transact_items)
        except Exception:
            for entry in reversed(saved):
                restore(*entry)
            for shard, length in streams:
                del shard.items[length:]
            raise

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


DYNAMODB_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable", "ListTables", "DescribeTimeToLive"}


class ReadersWriter:
    """Many readers or one writer; a waiting writer holds new readers back, so writes never starve."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    def acquire(self, write):
        with self._cond:
            if write:
                self._writers_waiting += 1
                self._cond.wait_for(lambda: not self._writing and self._readers == 0)
                self._writers_waiting -= 1
                self._writing = True
            else:
                self._cond.wait_for(lambda: not self._writing and self._writers_waiting == 0)
                self._readers += 1

    def release(self, write):
        with self._cond:
            if write:
                self._writing = False
            else:
                self._readers -= 1
            self._cond.notify_all()


def tables_of(body):
    """The tables a DynamoDB request names, sorted so that locks are always taken in one order."""
    names = set()
    if body.get("TableName"):
        names.add(body["TableName"])
    names.update((body.get("RequestItems") or {}).keys())
    for entry in body.get("TransactItems") or []:
        for op in entry.values():
            if isinstance(op, dict) and op.get("TableName"):
                names.add(op["TableName"])
    return sorted(names)


# The bytes of the request this thread is serving, as they came: see `signatures_over_raw_bodies`.
REQUEST = threading.local()


def signatures_over_raw_bodies():
    """moto verifies a signature over the body it re-encodes from the parsed form of a query-protocol
    request (SES), which differs from what the Rust SDK sent and signed; AWS signs and checks the
    bytes sent. Checked here over those bytes."""
    from moto.iam.access_control import IAMRequest

    create = IAMRequest._create_aws_request

    def create_aws_request(self):
        request = create(self)
        raw = getattr(REQUEST, "body", None)
        if raw:
            request.data = raw
        return request

    IAMRequest._create_aws_request = create_aws_request


PRESIGNING = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature")


def header_of(environ, name):
    if name == "content-type":
        return environ.get("CONTENT_TYPE", "")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH", "")
    return environ.get("HTTP_" + name.upper().replace("-", "_"), "")


def s3_error(start_response, code, message):
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'.encode()
    start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def secret_of(access_key):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    for user in iam_backends[DEFAULT_ACCOUNT_ID]["aws"].users.values():
        for key in user.access_keys:
            if key.access_key_id == access_key:
                return key.secret_access_key
    return None


def presigned_urls_checked(app):
    """A request with a SigV4 query-string signature, checked as S3 checks it, then passed on
    signed in a header by the same key (see the module's notes)."""
    import datetime
    import hmac
    from urllib.parse import parse_qsl, quote, urlencode

    from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def call(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if "X-Amz-Signature=" not in query or environ.get("HTTP_AUTHORIZATION"):
            return app(environ, start_response)
        params = parse_qsl(query, keep_blank_values=True)
        auth = {k: v for k, v in params if k in PRESIGNING}
        try:
            key, _, region, service, _ = auth["X-Amz-Credential"].split("/")
            signed_at = datetime.datetime.strptime(auth["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
            expires = int(auth["X-Amz-Expires"])
        except (KeyError, ValueError):
            return s3_error(start_response, "AuthorizationQueryParametersError", "The presigned URL is malformed")
        secret = secret_of(key)
        if secret is None:
            return s3_error(start_response, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
        if datetime.datetime.now(datetime.timezone.utc) > signed_at + datetime.timedelta(seconds=expires):
            return s3_error(start_response, "AccessDenied", "Request has expired")
        host = environ.get("HTTP_HOST", "")
        path = environ.get("RAW_URI", environ.get("PATH_INFO", "")).split("?")[0]
        signed = auth["X-Amz-SignedHeaders"].split(";")
        headers = {name: header_of(environ, name) for name in signed if name != "host"}
        unsigned = urlencode([(k, v) for k, v in params if k != "X-Amz-Signature"], quote_via=quote, safe="-_.~")
        request = AWSRequest(method=environ["REQUEST_METHOD"], url=f"http://{host}{path}?{unsigned}", headers=headers)
        request.context["timestamp"] = auth["X-Amz-Date"]
        signer = S3SigV4QueryAuth(Credentials(key, secret), service, region, expires=expires)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if not hmac.compare_digest(expected, auth["X-Amz-Signature"]):
            return s3_error(start_response, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
        rest = urlencode([(k, v) for k, v in params if k not in PRESIGNING], quote_via=quote, safe="-_.~")
        body = getattr(REQUEST, "body", b"")
        header_signed = AWSRequest(
            method=environ["REQUEST_METHOD"], url=f"http://{host}{path}" + (f"?{rest}" if rest else ""), data=body, headers=headers
        )
        S3SigV4Auth(Credentials(key, secret), "s3", region).add_auth(header_signed)
        environ["QUERY_STRING"] = rest
        environ["RAW_URI"] = environ["REQUEST_URI"] = path + (f"?{rest}" if rest else "")
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256"):
            environ["HTTP_" + name.upper().replace("-", "_")] = header_signed.headers[name]
        environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    return call


class TransactionTokens:
    """What DynamoDB remembers of committed transactions' ClientRequestTokens: the request each
    was sent with and the answer it got, for 10 minutes after it committed."""

    WINDOW_SECONDS = 600

    def __init__(self):
        self._lock = threading.Lock()
        self._committed = {}

    @staticmethod
    def of(operation, body):
        """The token and what it stands for (the request without it), or None."""
        token = body.get("ClientRequestToken") if operation == "TransactWriteItems" else None
        if not token:
            return None
        rest = {k: v for k, v in body.items() if k != "ClientRequestToken"}
        return token, json.dumps(rest, sort_keys=True)

    def seen(self, token, request):
        """The committed answer for this token, or "mismatch" when it came with another request."""
        with self._lock:
            now = time.monotonic()
            for old in [t for t, (at, _, _) in self._committed.items() if now - at > self.WINDOW_SECONDS]:
                del self._committed[old]
            entry = self._committed.get(token)
        if entry is None:
            return None
        return entry[2] if entry[1] == request else "mismatch"

    def remember(self, token, request, answer):
        with self._lock:
            self._committed[token] = (time.monotonic(), request, answer)


def mismatch(start_response):
    body = json.dumps({
        "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
        "message": "Transaction with the same ClientRequestToken but different parameters",
    }).encode()
    start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))])
    return [body]


def with_token(app, tokens, operation, body, environ, start_response):
    """A transaction answered as DynamoDB answers it with its ClientRequestToken (see the top)."""
    keyed = tokens.of(operation, body)
    if keyed is None:
        return list(app(environ, start_response))
    token, request = keyed
    answer = tokens.seen(token, request)
    if answer == "mismatch":
        return mismatch(start_response)
    if answer is not None:
        status, headers, chunks = answer
        start_response(status, headers)
        return chunks
    sent = []

    def capture(status, headers, exc_info=None):
        sent[:] = [status, list(headers)]
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

    chunks = list(app(environ, capture))
    if sent and sent[0].startswith("200"):
        tokens.remember(token, request, (sent[0], sent[1], chunks))
    return chunks


def table_locked(app):
    """Each DynamoDB request under its tables' locks; every other request as it comes."""
    locks = defaultdict(ReadersWriter)
    guard = threading.Lock()
    sqs_lock = threading.Lock()
    tokens = TransactionTokens()

    def call(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        REQUEST.body = raw
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AmazonSQS."):
            with sqs_lock:
                return list(app(environ, start_response))
        if not target.startswith("DynamoDB_"):
            return app(environ, start_response)
        operation = target.split(".")[-1]
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        write = operation not in DYNAMODB_READS
        with guard:
            held = [locks[name] for name in tables_of(body)]
        for lock in held:
            lock.acquire(write)
        try:
            # Consume the whole response inside the lock: moto may build it lazily.
            return with_token(app, tokens, operation, body, environ, start_response)
        finally:
            for lock in reversed(held):
                lock.release(write)

    return call


def policy_actions(template_path):
    """{name: [actions]}: every function's inline policy in the SAM template, by its binary, and
    every other role's (the pipes'), by its logical id."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # CloudFormation's short forms (!Ref, !GetAtt, !Sub, ...): only actions are read here.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    with open(template_path) as f:
        template = yaml.load(f, Loader=Loader)
    out = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function":
            name = ((resource.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
            documents = properties.get("Policies") or []
        elif resource.get("Type") == "AWS::IAM::Role":
            name = logical_id
            documents = [(p or {}).get("PolicyDocument") for p in properties.get("Policies") or []]
        else:
            continue
        actions = []
        for document in documents:
            for statement in (document or {}).get("Statement") or []:
                if statement.get("Effect") == "Allow":
                    found = statement.get("Action") or []
                    actions.extend([found] if isinstance(found, str) else found)
        out[name] = actions
    return out


ITEM_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}


def create_user(backend, name, key, secret, actions):
    backend.create_user(region_name="us-east-1", user_name=name)
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions or ["none:Nothing"], "Resource": "*"}]}
    backend.put_user_policy(name, "policy", json.dumps(document))
    access_key = backend.create_access_key(name)
    access_key.access_key_id = key
    access_key.secret_access_key = secret


def enforce_iam(template_path):
    from moto import settings
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    backend = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    admin_key = os.environ.get("AWS_ACCESS_KEY_ID") or "local"
    admin_secret = os.environ.get("AWS_SECRET_ACCESS_KEY") or "local"
    create_user(backend, "local-admin", admin_key, admin_secret, ["*"])
    for binary, actions in policy_actions(template_path).items():
        moto_quirk = ["dynamodb:TransactWriteItems"] if ITEM_WRITES & set(actions) else []
        create_user(backend, f"local-{binary}", f"local-{binary}", f"local-{binary}", actions + moto_quirk)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0


SENT_EMAIL_PATH = "/_cppo/ses/messages"


def sent_emails(environ, start_response):
    """The messages SES accepted, as `/moto-api/data.json` gives them at `.ses.Message`, without
    serializing every other service's state (which grows with every item version) to get them."""
    from moto.core.model_instances import model_data

    messages = []
    for message in getattr(model_data.get("ses", {}).get("Message"), "instances_tracked", []):
        fields = {}
        for name in ("id", "source", "subject", "body", "destinations"):
            value = getattr(message, name, None)
            if value is not None:
                fields[name] = value
        messages.append(fields)
    body = json.dumps(messages).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def with_sent_emails(app):
    def call(environ, start_response):
        if environ.get("PATH_INFO") == SENT_EMAIL_PATH and environ.get("REQUEST_METHOD") == "GET":
            return sent_emails(environ, start_response)
        return app(environ, start_response)

    return call


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    transactions_save_what_they_touch()
    if os.environ.get("CPPO_IAM_TEMPLATE"):
        enforce_iam(os.environ["CPPO_IAM_TEMPLATE"])
        signatures_over_raw_bodies()
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    if os.environ.get("CPPO_IAM_TEMPLATE"):
        app = presigned_urls_checked(app)
    run_simple(host, port, with_sent_emails(table_locked(app)), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
