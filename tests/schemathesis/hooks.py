"""Two checks of our own for the schemathesis run in `make test` (tests/tests/fuzz.rs), in place of
two of schemathesis's that ask what the contract does not:

- `positive_data_acceptance` wants every request the document allows accepted. Some of the
  service's rules depend on what is stored, on who the caller is in a resource or on today's date,
  and no schema can state those. `stateful_refusals_only` lets a schema-valid request get 400 only
  when exemptions.yaml names its operation and the field refused, each entry a stateful rule tied to
  the sentence of docs/api.md it rests on; any other 400 fails.
- `unsupported_method` wants 405 for a method the document does not declare. API Gateway has no
  405: `gateways_not_found_for_an_undeclared_method` wants exactly its 404, `{"message": "Not Found"}`.

schemathesis.toml beside this file turns the two built-in checks off.
"""

import fnmatch
import json
import pathlib

import schemathesis
import yaml
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario

EXEMPTIONS = yaml.safe_load((pathlib.Path(__file__).parent / "exemptions.yaml").read_text())

# What a schema-valid request may get without an exemption: success, or a refusal that is the
# state's (no identity, the wrong party, no such resource, a state that forbids it, throttling).
STATEFUL_STATUSES = {401, 403, 404, 409, 429}


def _exempted(operation, field):
    return any(
        operation in entry["operations"] and any(fnmatch.fnmatchcase(field or "", pattern) for pattern in entry["fields"])
        for entry in EXEMPTIONS
    )


@schemathesis.check
def stateful_refusals_only(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status < 400 or status >= 500 or status in STATEFUL_STATUSES:
        return None
    if status == 400:
        try:
            field = json.loads(response.content)["error"].get("field")
        except (ValueError, KeyError, TypeError, AttributeError):
            field = None
        if _exempted(case.operation.label, field):
            return None
        raise AssertionError(
            f"A request the document allows got 400 on {field!r}, which no exemption names for "
            f"{case.operation.label}: the document is looser than the service\n{response.text[:300]}"
        )
    raise AssertionError(f"A request the document allows got {status}\n{response.text[:300]}")


@schemathesis.check
def gateways_not_found_for_an_undeclared_method(ctx, response, case):
    meta = case.meta
    data = meta.phase.data if meta is not None else None
    if not isinstance(data, CoveragePhaseData) or data.scenario != CoverageScenario.UNSPECIFIED_HTTP_METHOD:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if response.status_code != 404 or body != {"message": "Not Found"}:
        raise AssertionError(
            f"{response.request.method} is no method of {case.path}: API Gateway answers 404 "
            f'{{"message": "Not Found"}}, not {response.status_code} {response.text[:200]}'
        )
    return None
