"""Schemathesis hooks for the xqt API (loaded with SCHEMATHESIS_HOOKS=schemathesis_hooks).

Values for our custom scalars, and the check that matters for a GraphQL API: an error with a
code is the API refusing bad input (schemathesis' own GraphQL check counts every error as a
failure); a 5xx, an error without a code, or the code INTERNAL is a fault.
"""

from hypothesis import strategies as st

import schemathesis
from schemathesis.graphql import nodes

schemathesis.graphql.scalar("NaiveDate", st.dates().map(lambda d: nodes.String(d.isoformat())))
schemathesis.graphql.scalar("JSON", st.text(max_size=40).map(nodes.String))


@schemathesis.check
def no_internal_error(ctx, response, case):
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    try:
        body = response.json()
    except Exception as e:  # the API answers JSON, always
        raise AssertionError(f"not JSON: {e}")
    answers = body if isinstance(body, list) else [body]
    for answer in answers:
        for error in answer.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if code is None or code == "INTERNAL":
                raise AssertionError(f"error {code!r}: {error.get('message')}")
