#!/usr/bin/env python3
"""Checks Rollcall's hash chain without trusting Rollcall.

Reads the stored envelopes (`rollcall replay export --format envelopes`, unfiltered
or by tenant only, so each tenant's chain is whole), recomputes every event's hash
from its canonical form, and checks each event's link to the previous one of its
tenant. Prints `<position> <tenant_id> <tenant_seq> ok|BROKEN` per event and exits 1
if any is broken. Standard library only; docs/compliance.md says what is hashed.

    python3 scripts/check_chain.py trail.jsonl
"""
import hashlib
import json
import sys

FIELDS = ["actor", "correlation_id", "data", "event_id", "idempotency_key", "occurred_at",
          "prev_hash", "reason", "schema_version", "tenant_id", "tenant_seq", "type"]


def main(path):
    heads = {}
    broken = False
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            e = json.loads(line)
            body = json.dumps({k: e.get(k) for k in FIELDS}, sort_keys=True,
                              separators=(",", ":"), ensure_ascii=False)
            seq, prev = heads.get(e["tenant_id"], (0, "0" * 64))
            ok = (hashlib.sha256(body.encode()).hexdigest() == e["hash"]
                  and e["prev_hash"] == prev and e["tenant_seq"] == seq + 1)
            broken = broken or not ok
            print(e["position"], e["tenant_id"], e["tenant_seq"], "ok" if ok else "BROKEN")
            heads[e["tenant_id"]] = (e["tenant_seq"], e["hash"])
    return 1 if broken else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_chain.py <envelopes.jsonl>")
    sys.exit(main(sys.argv[1]))
