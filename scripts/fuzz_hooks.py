"""schemathesis hooks for scripts/fuzz.sh.

A schema-valid request may still be refused for what no OpenAPI document can
say: a name the tenant's catalog does not define, the state of the team, a
token only the server can sign, a rule between two values. Such a refusal is
dropped here only when the answer names it — by its problem `type`, or for
`validation` by the rule's own words — so any other refusal of a request the
document allows still fails the run. schemathesis counts what was dropped.
"""

import schemathesis

PROBLEMS = "https://rollcall.dev/problems/"

# Problem types a schema-valid request may earn, and why the document cannot
# rule them out.
BY_TYPE = {
    # The tenant's vocabulary: catalogs are per tenant and change at run time.
    "unknown-role", "unknown-permission", "unknown-area", "unknown-plan",
    "invalid-catalog", "prerequisite-missing", "single-role", "plan-restriction",
    "all-offices", "external-view-only", "builtin-role",
    # An invitation token is signed by the server; one made up is refused, and
    # an invitation canceled, superseded or past its expiry is gone.
    "invalid-token", "invitation-canceled", "invitation-superseded", "invitation-expired",
    # The fuzzer draws Idempotency-Keys from a small space and sends one key
    # with two different requests: the second must be refused.
    "idempotency-key-reused",
}

# `validation` answers whose rule the document cannot state, by their words.
VALIDATION = (
    "`from` is after `to`",          # a rule between two parameters
    "catalog is invalid",            # a catalog document (CATALOGS.md), not in the document
    "is not a valid email address",  # the address grammar (deliberately shallow)
    "is not a CIDR block",           # CIDR grammar
    "unknown profile link",          # the catalog's profile links
    "is not scoped",                 # the catalog's areas
    "does not offer scope",
    "cannot take over records",      # the team's members
    "may not change its key",        # the tenant's catalog
)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if getattr(failure, "code", None) != "ST202":
        return True
    try:
        problem = response.json()
    except ValueError:
        return True
    kind = str(problem.get("type", "")).removeprefix(PROBLEMS)
    if kind in BY_TYPE:
        return False
    detail = str(problem.get("detail", ""))
    if kind == "validation" and any(words in detail for words in VALIDATION):
        return False
    return True
