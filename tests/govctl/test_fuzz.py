"""schemathesis against the governance API through the sandbox gateway, each request SigV4-signed as each persona.

Every operation of `docs/openapi.json` gets generated requests (valid ones with random and with real ids, and
invalid ones); each is sent as every persona of the organization and as the outsider. No answer may be a 5xx,
and every answer must conform to the document (status, content type, body schema).
"""
from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from govctl.personas import PERSONAS, SANDBOX_REGION, Persona
from govctl.walkthrough import FRAUD, UC, XGB

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
EXAMPLES = 12  # per operation; each example is sent as every persona
REAL_IDS = st.fixed_dictionaries({"use_case_id": st.just(UC), "group": st.sampled_from([XGB, FRAUD]),
                                  "version": st.integers(1, 3)})


# The session signs every request, so schemathesis' unsigned replays are signed too (the gateway's refusal of
# unsigned requests is tested in test_gateway.py). Some schema-valid requests are refused by rules no schema
# states (an opaque page token that decodes to nothing, a reason required to reject): 400 is right for them.
EXCLUDED = [ignored_auth, positive_data_acceptance]


class SignedSession(requests.Session):
    """A requests session that signs every request as `who` (service execute-api), with a nonce so that two
    identical writes in one second are two requests, not a replay."""

    def __init__(self, who: Persona):
        super().__init__()
        self.who = who

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.headers["X-Fuzz-Nonce"] = uuid.uuid4().hex
        body = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        signable = AWSRequest(method=request.method, url=request.url, data=body,
                              headers={k: v for k, v in request.headers.items() if k.lower() in ("content-type", "x-fuzz-nonce")})
        SigV4Auth(Credentials(self.who.access_key, self.who.secret_key), "execute-api", SANDBOX_REGION).add_auth(signable)
        request.headers.update({k: v for k, v in signable.headers.items() if k.lower() in ("authorization", "x-amz-date")})
        return super().send(request, **kwargs)


# Bodies the domain accepts (random schema-valid ones rarely are), so that writes also reach 200 and 409.
STAGES = st.sampled_from(["development", "test", "production"])
REAL_BODIES = {
    "decide": st.fixed_dictionaries({"stage": STAGES, "action": st.sampled_from(["approve", "reject", "retire"]),
                                     "reason": st.just("fuzzed decision")}),
    "decide_use_case": st.fixed_dictionaries({"action": st.sampled_from(["approve", "retire"]), "reason": st.just("fuzzed")}),
    "metrics": st.fixed_dictionaries({"kind": st.just("validation"), "stage": STAGES,
                                      "metrics": st.dictionaries(st.sampled_from(["auc", "ks"]), st.floats(0, 1), min_size=1)}),
}


def _strategy(operation: Any) -> st.SearchStrategy:
    params = {p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"}
    strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    if params:
        pinned = REAL_IDS.map(lambda ids: {k: v for k, v in ids.items() if k in params})
        strategies += [pinned.flatmap(lambda ids: operation.as_strategy(GenerationMode.POSITIVE, path_parameters=ids)),
                       pinned.flatmap(lambda ids: operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=ids))]
        bodies = REAL_BODIES.get(operation.definition.raw.get("operationId"))
        if bodies is not None:
            strategies.append(st.tuples(pinned, bodies).flatmap(
                lambda both: operation.as_strategy(GenerationMode.POSITIVE, path_parameters=both[0], body=both[1])))
    return st.one_of(strategies)


def test_the_api_answers_every_generated_request_as_documented_and_never_5xx(sandbox):
    document = json.loads(DOCUMENT.read_text())
    document["servers"] = [{"url": sandbox.endpoint}]
    schema = schemathesis.openapi.from_dict(document)
    schema.config.generation.update(with_security_parameters=False)  # SignedSession signs; nothing to generate
    sessions = [SignedSession(p) for p in PERSONAS.values()]
    statuses: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    began = time.perf_counter()

    for operation in operations:
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=_strategy(operation))
        def run(case: Any) -> None:
            for session in sessions:
                response = case.call(base_url=sandbox.endpoint, session=session, timeout=30)
                statuses[(operation.label, response.status_code)] += 1
                try:
                    case.validate_response(response, excluded_checks=EXCLUDED)
                except Exception as exc:  # noqa: BLE001 - collected, the assertion below names each
                    failures.append(f"{operation.label} as {session.who.name}: {response.status_code} {str(exc)[:300]}")

        run()

    elapsed = time.perf_counter() - began
    server_errors = {k: n for k, n in statuses.items() if k[1] >= 500}
    print(f"schemathesis: {len(operations)} operations, {sum(statuses.values())} requests "
          f"({len({(k[0]) for k in statuses})} operations answered), 5xx: {sum(server_errors.values())}, {elapsed:.1f} s")
    for (label, status), n in sorted(statuses.items()):
        print(f"  {label}: {status} x{n}")
    assert {op.label for op in operations} == {label for label, _ in statuses}
    assert not server_errors, server_errors
    assert not failures, "\n".join(failures[:20])
