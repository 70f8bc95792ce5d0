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

import copy
import json
import pathlib
import re

import schemathesis
import yaml
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario

EXEMPTIONS = yaml.safe_load((pathlib.Path(__file__).parent / "exemptions.yaml").read_text())

# What a schema-valid request may get without an exemption: success, or a refusal that is the
# state's (no identity, the wrong party, no such resource, a state that forbids it, throttling).
STATEFUL_STATUSES = {401, 403, 404, 409, 429}


def _field_matches(field, pattern):
    # `*` is the only wildcard (exemptions.yaml: "`*` any characters"); brackets are literal. fnmatch
    # read `productIds[*]` as `productIds` and a class of the one character `*`, so no
    # `productIds[0]` ever matched it.
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), field, re.DOTALL) is not None


def _exempted(operation, field):
    return any(
        operation in entry["operations"] and any(_field_matches(field or "", pattern) for pattern in entry["fields"])
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


def _routed_elsewhere(case):
    """Whether API Gateway routes this method and path to another documented operation: it matches a
    request by method and path, so `PATCH /opportunities/import` is `PATCH /opportunities/{id}` with
    the id `import`, that operation's request and answer, not a method its path lacks."""
    method = case.method.lower()
    for template, item in case.operation.schema.raw_schema.get("paths", {}).items():
        if template == case.operation.path or not isinstance(item, dict) or method not in item:
            continue
        pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}/]+\})", template))
        if re.fullmatch(pattern, case.formatted_path):
            return True
    return False


@schemathesis.check
def gateways_not_found_for_an_undeclared_method(ctx, response, case):
    meta = case.meta
    data = meta.phase.data if meta is not None else None
    if not isinstance(data, CoveragePhaseData) or data.scenario != CoverageScenario.UNSPECIFIED_HTTP_METHOD:
        return None
    if _routed_elsewhere(case):
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


# A generation hook, not an exemption: it teaches the generator the cross-change rules of
# `POST /opportunities/import` that no schema of one change at a time can state (OpenAPI 3.0 has no
# `contains`), so that a change set the document allows also keeps them. docs/api.md: "Exactly one
# `CreateResaleAuthorization` (...) and an `UpdatePricingTerms` of one contract term, a
# `ResaleUsageBasedPricingTerm` beside it or alone, each type at most once. Rate cards (...; several
# must agree)"; a `ResaleFixedUpfrontPricingTerm` "plus `UpdatePaymentScheduleTerms`". Positive cases
# only, in every phase (the coverage phase applies case hooks, not body hooks); a negative case is
# left as generated.
_ENTITY = {"Type": "ResaleAuthorization@1.0", "Identifier": "$ResaleAuthorization.Entity.Identifier"}
_IMPORT_CREATE = {
    "ChangeType": "CreateResaleAuthorization",
    "Entity": {"Type": "ResaleAuthorization@1.0"},
    "DetailsDocument": {"ProductId": "prod-" + "0" * 32, "ResellerAccountId": "222233334444", "Name": "ImportedAuthorization"},
}
_IMPORT_PRICING = {
    "ChangeType": "UpdatePricingTerms",
    "Entity": _ENTITY,
    "DetailsDocument": {"Terms": [{"Type": "ResaleConfigurableUpfrontPricingTerm", "RateCards": []}]},
}
_IMPORT_SCHEDULE = {
    "ChangeType": "UpdatePaymentScheduleTerms",
    "Entity": _ENTITY,
    "DetailsDocument": {"Terms": [{"Schedule": [{"ChargeDate": "2027-06-01", "ChargeAmount": "1000"}]}]},
}
_RATE_CARD_TERMS = {"ResaleConfigurableUpfrontPricingTerm", "ResaleUsageBasedPricingTerm"}


def _distinct_terms(terms):
    """Each term type once, and one contract term at most beside the usage term."""
    kept, seen, contract = [], set(), False
    for term in terms:
        kind = term.get("Type")
        usage = kind == "ResaleUsageBasedPricingTerm"
        if kind in seen or (contract and not usage):
            continue
        seen.add(kind)
        contract = contract or not usage
        kept.append(term)
    return kept


def _importable(changes):
    """The change set with one CreateResaleAuthorization (the first), an UpdatePricingTerms, a payment
    schedule for a fixed upfront price, and rate cards that agree on each dimension's price."""
    kinds = [c.get("ChangeType") for c in changes]
    first_create = kinds.index("CreateResaleAuthorization") if "CreateResaleAuthorization" in kinds else None
    changes = [c for i, c in enumerate(changes) if kinds[i] != "CreateResaleAuthorization" or i == first_create]
    if first_create is None:
        changes.insert(0, copy.deepcopy(_IMPORT_CREATE))
    for change in changes:
        if change.get("ChangeType") != "UpdatePricingTerms":
            continue
        change["DetailsDocument"]["Terms"] = _distinct_terms(change["DetailsDocument"]["Terms"])
        for term in change["DetailsDocument"]["Terms"]:
            if term.get("Type") in _RATE_CARD_TERMS:
                prices = {}
                for card in term["RateCards"]:
                    for rate in card["RateCard"]:
                        rate["Price"] = prices.setdefault(rate["DimensionKey"], rate["Price"])
    kinds = [c.get("ChangeType") for c in changes]
    if "UpdatePricingTerms" not in kinds:
        changes.append(copy.deepcopy(_IMPORT_PRICING))
    # The last UpdatePricingTerms is the one that counts.
    pricing = [c for c in changes if c.get("ChangeType") == "UpdatePricingTerms"][-1]
    fixed = any(t.get("Type") == "ResaleFixedUpfrontPricingTerm" for t in pricing["DetailsDocument"]["Terms"])
    if fixed and "UpdatePaymentScheduleTerms" not in kinds:
        changes.append(copy.deepcopy(_IMPORT_SCHEDULE))
    # Back to 20 changes at most, dropping the last change no rule needs: not the create, not the
    # pricing that counts, not the only payment schedule.
    def droppable(change):
        kind = change.get("ChangeType")
        if kind == "UpdatePaymentScheduleTerms":
            return sum(c.get("ChangeType") == kind for c in changes) > 1
        return kind != "CreateResaleAuthorization" and change is not pricing

    while len(changes) > 20:
        del changes[max(i for i, c in enumerate(changes) if droppable(c))]
    return changes


@schemathesis.hook.apply_to(method="POST", path="/opportunities/import")
def map_case(ctx, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return case
    body = copy.deepcopy(case.body)
    for key in ("ChangeSet", "changeSet"):
        if isinstance(body.get(key), list) and all(isinstance(c, dict) for c in body[key]):
            body[key] = _importable(body[key])
    case.body = body
    return case


# A generation hook, not an exemption: the sales and billing reports' range, which no schema of one query
# parameter at a time can state. docs/api.md: "both required, `from` ≤ `to`". Positive cases only;
# a negative case is left as generated. (schemathesis knows a hook by its name: each is `map_case`,
# registered for its own operation when it is defined.)
def _ordered_range(case):
    meta = case.meta
    query = case.query if isinstance(case.query, dict) else None
    if meta is None or not meta.generation.mode.is_positive or query is None:
        return case
    start, end = query.get("from"), query.get("to")
    if isinstance(start, str) and isinstance(end, str) and start > end:
        case.query = {**query, "from": end, "to": start}
    return case


@schemathesis.hook.apply_to(method="GET", path="/reports/sales")
def map_case(ctx, case):
    return _ordered_range(case)


@schemathesis.hook.apply_to(method="GET", path="/reports/billing")
def map_case(ctx, case):
    return _ordered_range(case)
