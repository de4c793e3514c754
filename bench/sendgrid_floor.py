"""The bare-client floor of the dispatch benchmark (issue 16): no store, no ledger.

`python -m bench.sendgrid_floor CONTENT_JSON COUNT` builds the Mail Send bodies a
send of COUNT recipients needs, 1,000 personalizations each, the way a script
written straight against sendgrid-python would, and posts them with
sendgrid-python, 4 in flight (one client per thread), to SENDGRID_API_HOST.
Each personalization carries what the product's carries: the address, the name,
one substitution (the reader's HMAC-SHA256-signed unsubscribe URL), Message-ID
and List-Unsubscribe headers and a custom arg. Readers are the benchmark store's
(`reader0000001@example.com`, "Reader 1", ids 1…COUNT). CONTENT_JSON holds what
every request shares (sender, subject, the HTML and text with the placeholder,
headers, the unsubscribe base URL), written by bench/dispatch_sendgrid.py from
the same rendered issue the product sends. Prints `requests=N accepted=N`; exits
1 if a request was not accepted.

It imports nothing of the newsletter package: it is the anchor the product is
measured against in the same run, on the same machine and the same server.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sendgrid import SendGridAPIClient

BATCH = 1000
IN_FLIGHT = 4


def token(subscriber_id: int, key: bytes) -> str:
    """The unsubscribe token: the id and its HMAC-SHA256 (newsletter.tokens' recipe)."""
    message = f"newsletter/unsubscribe/v1/{subscriber_id}".encode()
    digest = hmac.digest(key, message, "sha256")
    return f"{subscriber_id}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def body(first: int, last: int, shared: dict[str, Any], key: bytes, prefix: str) -> dict[str, Any]:
    """One Mail Send body for readers first…last (inclusive)."""
    personalizations = []
    for n in range(first, last + 1):
        url = shared["unsubscribe_base"] + token(n, key)
        personalizations.append(
            {
                "to": [{"email": f"reader{n:07d}@example.com", "name": f"Reader {n}"}],
                "substitutions": {shared["placeholder"]: url},
                "headers": {
                    "Message-ID": f"<{shared['issue']}.{prefix}{n:x}@{shared['domain']}>",
                    "List-Unsubscribe": f"<{url}>",
                },
                "custom_args": {"subscriber_id": str(n)},
            }
        )
    return {"personalizations": personalizations, **shared["request"]}


def main(argv: list[str]) -> int:
    shared = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    count = int(argv[1])
    key = os.environ["NEWSLETTER_SECRET"].encode()
    api_key, host = os.environ["SENDGRID_API_KEY"], os.environ["SENDGRID_API_HOST"]
    prefix = secrets.token_hex(8)
    clients: dict[int, SendGridAPIClient] = {}

    def post(first: int) -> int:
        import threading

        client = clients.setdefault(threading.get_ident(), SendGridAPIClient(api_key, host=host))
        last = min(first + BATCH - 1, count)
        response = client.client.mail.send.post(request_body=body(first, last, shared, key, prefix))
        return int(response.status_code)

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        statuses = list(pool.map(post, range(1, count + 1, BATCH)))
    accepted = sum(status == 202 for status in statuses)
    print(f"requests={len(statuses)} accepted={accepted}")
    return 0 if accepted == len(statuses) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
