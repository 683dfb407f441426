"""test_python_client.py — the Python reference client (clients/python/coalition_ledger.py) against a
live ledgerd: earn, burn, hold and capture, void, reversal, problems with their code and field, a
request replayed under its Idempotency-Key, a timeout and a 503 and a dropped connection retried to
exactly one effect, 4xx/500 never retried, bounded attempts, and Standard Webhooks verification
against a signature made with the ledger's key file (openssl CLI), and a live webhook: an endpoint
registered on a loopback receiver, an earn, the delivery verified (its id is the event feed's).

Started by tests/clients/run-python.mjs, which sets up the ledger and the misbehaving proxy
(tests/clients/harness.mjs) and passes them in CLIENT_TEST. Prints TAP lines and the summary
"# pass N" / "# fail M" that tools/test-count.sh counts."""

import http.server
import json
import os
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from coalition_ledger import LedgerClient, LedgerError, WebhookVerificationError, verify_webhook  # noqa: E402

FIXTURE = json.loads(os.environ["CLIENT_TEST"])
KEYS = FIXTURE["keys"]


def client(brand, url=None, **options):
    return LedgerClient(url or FIXTURE["url"], KEYS[brand]["id"], KEYS[brand]["file"], **options)


def via_proxy(**options):
    options.setdefault("backoff_s", 0.01)
    return client("coffee", FIXTURE["proxy"], **options)


def plan(*steps):
    request = urllib.request.Request(FIXTURE["proxy"] + "/__proxy/plan", data=json.dumps({"steps": list(steps)}).encode(),
                                     method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 204


def seen():
    with urllib.request.urlopen(FIXTURE["proxy"] + "/__proxy/seen", timeout=5) as answer:
        return json.loads(answer.read())


class LiveLedger(unittest.TestCase):
    coffee = client("coffee")
    books = client("books")

    def test_earn_and_burn(self):
        earned = self.coffee.earn("p-earn", 500, "p-till-1")
        self.assertEqual(earned["transaction"]["type"], "earn")
        self.assertEqual(earned["balance"], {"balance": 500, "available": 500})
        burned = self.books.burn("p-earn", 200, "p-order-1")
        self.assertEqual([(c["issuer"], c["points"]) for c in burned["transaction"]["consumed"]], [("coffee", 200)])
        member = self.books.member("p-earn")
        self.assertEqual((member["balance"], member["available"]), (300, 300))

    def test_hold_capture_void(self):
        self.coffee.earn("p-hold", 300, "p-till-2")
        held = self.books.hold("p-hold", 100, "p-pos-1", ttl_seconds=600)
        self.assertEqual((held["hold"]["status"], held["balance"]["available"]), ("active", 200))
        captured = self.books.capture(held["hold"]["id"], points=60)
        self.assertEqual((captured["transaction"]["type"], captured["transaction"]["points"]), ("burn", 60))
        second = self.books.hold("p-hold", 10, "p-pos-2")
        self.assertEqual(self.books.void(second["hold"]["id"])["hold"]["status"], "voided")
        member = self.books.member("p-hold")
        self.assertEqual((member["balance"], member["available"]), (240, 240))

    def test_reversal(self):
        earn = self.coffee.earn("p-rev", 400, "p-till-3")
        burn = self.books.burn("p-rev", 150, "p-order-2")
        self.assertEqual(self.books.reverse(burn["transaction"]["id"], "p-refund-1", points=50)["transaction"]["type"],
                         "reversal")
        self.assertEqual(self.books.member("p-rev")["balance"], 300)
        self.coffee.reverse(earn["transaction"]["id"], "p-refund-2", points=300)
        self.assertEqual(self.coffee.member("p-rev")["balance"], 0)
        self.assertEqual(self.coffee.transaction(earn["transaction"]["id"])["transaction"]["id"], earn["transaction"]["id"])
        history = self.coffee.transactions("p-rev", limit=10)
        self.assertEqual([t["type"] for t in history["transactions"]], ["reversal", "earn"])

    def test_problems(self):
        with self.assertRaises(LedgerError) as caught:
            self.books.burn("p-empty", 10, "p-order-3")
        self.assertEqual((caught.exception.status, caught.exception.code), (422, "insufficient_points"))
        self.assertEqual(caught.exception.problem["available"], 0)
        with self.assertRaises(LedgerError) as caught:
            self.coffee.earn("p-bad", 0, "p-till-4")
        self.assertEqual((caught.exception.status, caught.exception.code, caught.exception.field),
                         (400, "invalid_field", "points"))
        other = self.coffee.earn("p-own", 5, "p-till-5")
        with self.assertRaises(LedgerError) as caught:
            self.books.transaction(other["transaction"]["id"])
        self.assertEqual((caught.exception.status, caught.exception.code), (404, "not_found"))
        stranger = LedgerClient(FIXTURE["url"], "nobody-1", KEYS["coffee"]["file"])
        with self.assertRaises(LedgerError) as caught:
            stranger.member("p-own")
        self.assertEqual((caught.exception.status, caught.exception.code), (401, "unknown_key"))

    def test_idempotent_replay(self):
        body = {"member": "p-idem", "points": 70, "reference": "p-till-6"}
        first = self.coffee.call("POST", "/v1/earn", body, idempotency_key="p-key-1")
        again = self.coffee.call("POST", "/v1/earn", body, idempotency_key="p-key-1")
        self.assertEqual((again.status, again.body), (first.status, first.body))
        self.assertEqual(len(self.coffee.transactions("p-idem")["transactions"]), 1)
        with self.assertRaises(LedgerError) as caught:
            self.coffee.call("POST", "/v1/earn", dict(body, points=71), idempotency_key="p-key-1")
        self.assertEqual((caught.exception.status, caught.exception.code), (422, "idempotency_key_reused"))

    def test_timeout_retried_to_one_effect(self):
        plan("delay:1500")
        earned = via_proxy(timeout_s=0.4).earn("p-slow", 90, "p-till-7")
        self.assertEqual(earned["balance"]["balance"], 90)
        requests = seen()
        self.assertEqual([r["step"] for r in requests], ["delay:1500", "pass"])
        self.assertEqual(requests[0]["idempotency_key"], requests[1]["idempotency_key"])
        self.assertEqual(len(self.coffee.transactions("p-slow")["transactions"]), 1)
        self.assertEqual(self.coffee.member("p-slow")["balance"], 90)

    def test_503_retried_after_retry_after(self):
        plan("503:1")
        started = time.monotonic()
        earned = via_proxy().earn("p-busy", 30, "p-till-8")
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(earned["balance"]["balance"], 30)
        requests = seen()
        self.assertEqual([r["step"] for r in requests], ["503:1", "pass"])
        self.assertEqual(requests[0]["idempotency_key"], requests[1]["idempotency_key"])

    def test_request_in_progress_retried(self):
        plan("409")
        self.assertEqual(via_proxy().earn("p-running", 12, "p-till-12")["balance"]["balance"], 12)
        requests = seen()
        self.assertEqual([r["step"] for r in requests], ["409", "pass"])
        self.assertEqual(requests[0]["idempotency_key"], requests[1]["idempotency_key"])
        plan()
        with self.assertRaises(LedgerError) as caught:
            via_proxy().earn("p-running", 12, "p-till-12")
        self.assertEqual((caught.exception.status, caught.exception.code), (409, "duplicate_reference"))
        self.assertEqual(len(seen()), 1)

    def test_dropped_connection_retried(self):
        self.coffee.earn("p-drop", 11, "p-till-9")
        plan("drop")
        self.assertEqual(via_proxy().member("p-drop")["balance"], 11)
        self.assertEqual([(r["step"], r["idempotency_key"]) for r in seen()], [("drop", None), ("pass", None)])

    def test_4xx_500_and_redirects_not_retried(self):
        plan()
        with self.assertRaises(LedgerError) as caught:
            via_proxy().burn("p-never", 5, "p-order-4")
        self.assertEqual(caught.exception.code, "insufficient_points")
        self.assertEqual(len(seen()), 1)
        plan("500")
        with self.assertRaises(LedgerError) as caught:
            via_proxy().earn("p-never", 5, "p-till-10")
        self.assertEqual((caught.exception.status, caught.exception.code), (500, "internal"))
        self.assertEqual(len(seen()), 1)
        plan("302")
        with self.assertRaises(LedgerError) as caught:
            via_proxy().earn("p-never", 5, "p-till-10")
        self.assertEqual((caught.exception.status, caught.exception.code), (302, "http_302"))
        self.assertEqual(len(seen()), 1)
        self.assertEqual(self.coffee.member("p-never")["balance"], 0)

    def test_bounded_attempts_and_time(self):
        plan("503:0", "503:0", "503:0", "503:0")
        with self.assertRaises(LedgerError) as caught:
            via_proxy(max_attempts=3).earn("p-bound", 8, "p-till-11")
        key = caught.exception.idempotency_key
        self.assertEqual((caught.exception.status, caught.exception.code), (503, "database_busy"))
        self.assertEqual([r["idempotency_key"] for r in seen()], [key] * 3)
        plan("503:30")
        started = time.monotonic()
        with self.assertRaises(LedgerError) as caught:
            via_proxy(max_total_s=2).earn("p-bound", 8, "p-till-11", idempotency_key=key)
        self.assertEqual(caught.exception.retry_after_s, 30)
        self.assertLess(time.monotonic() - started, 1.0)
        plan()
        self.assertEqual(via_proxy().earn("p-bound", 8, "p-till-11", idempotency_key=key)["balance"]["balance"], 8)
        # an attempt never outlives the call's total bound; the effect it had is found again by its key
        plan("delay:1500")
        started = time.monotonic()
        with self.assertRaises(LedgerError) as caught:
            via_proxy(max_total_s=0.5).earn("p-bound", 9, "p-till-13")
        self.assertEqual((caught.exception.status, caught.exception.code), (0, "no_answer"))
        self.assertLess(time.monotonic() - started, 1.2)
        plan()
        again = via_proxy().earn("p-bound", 9, "p-till-13", idempotency_key=caught.exception.idempotency_key)
        self.assertEqual(again["balance"]["balance"], 17)
        self.assertEqual(len(self.coffee.transactions("p-bound")["transactions"]), 2)


class Webhook(unittest.TestCase):
    sample = FIXTURE["webhook"]
    key = FIXTURE["ledger_key"]

    def headers(self, **changes):
        headers = {"Webhook-Id": self.sample["id"], "webhook-timestamp": self.sample["timestamp"],
                   "webhook-signature": "v1,bm90IGFuIGhtYWM= v1a," + self.sample["signature"]}
        headers.update({k.replace("_", "-"): v for k, v in changes.items()})
        return headers

    def refused(self, headers, body, key=None, **options):
        with self.assertRaises(WebhookVerificationError):
            verify_webhook(headers, body, key or self.key, **options)

    def test_ledger_signature_verifies(self):
        self.assertEqual(verify_webhook(self.headers(), self.sample["body"].encode(), self.key)["seq"], 42)
        self.assertEqual(verify_webhook(self.headers(), self.sample["body"], "whpk_" + self.key)["id"], "ev-42")

    def test_tampering_refused(self):
        body = self.sample["body"]
        self.refused(self.headers(), body.replace("500", "501"))
        self.refused(dict(self.headers(), **{"Webhook-Id": "ev-43"}), body)
        self.refused(self.headers(webhook_timestamp=str(int(self.sample["timestamp"]) - 1)), body)
        self.refused(self.headers(webhook_signature="v1," + self.sample["signature"]), body)
        self.refused(self.headers(), body, key=KEYS["coffee"]["pub"])
        self.refused({"webhook-id": "ev-42", "webhook-timestamp": self.sample["timestamp"]}, body)

    def test_old_timestamp_refused(self):
        old = FIXTURE["webhook_old"]
        headers = self.headers(webhook_timestamp=old["timestamp"], webhook_signature="v1a," + old["signature"])
        self.refused(headers, old["body"])
        self.assertEqual(verify_webhook(headers, old["body"], self.key, tolerance_s=600)["seq"], 42)


class LiveWebhook(unittest.TestCase):
    """A receiver on loopback, as a partner would run it: registered through the client, an earn,
    the delivery verified with verify_webhook; its id is the feed event's."""

    def test_live_delivery_verifies(self):
        deliveries = []

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                deliveries.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            coffee = client("coffee")
            url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
            registered = coffee.call("POST", "/v1/webhooks", {"url": url, "event_types": ["earn.created"]})
            self.assertEqual(registered.status, 201)
            signing_key = registered.json["signing_key"]  # the ledger key as a partner is given it
            self.assertEqual(signing_key, "whpk_" + FIXTURE["ledger_key"])
            earned = coffee.earn("p-hook", 25, "p-till-hook")
            deadline = time.monotonic() + 10
            while not deliveries and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(len(deliveries), 1, "one delivery within 10 s")
            headers, body = deliveries[0]
            event = verify_webhook(headers, body, signing_key)
            self.assertEqual((event["type"], event["seq"]), ("earn.created", earned["transaction"]["seq"]))
            self.assertEqual(event["id"], {k.lower(): v for k, v in headers.items()}["webhook-id"])
            with self.assertRaises(WebhookVerificationError):
                verify_webhook(headers, body.replace(b'"p-hook"', b'"p-hoo0"'), signing_key)
            feed = coffee.events(after=earned["transaction"]["seq"] - 1, limit=10)
            self.assertEqual((feed["events"][0]["id"], feed["events"][0]["type"]), (event["id"], "earn.created"))
        finally:
            server.shutdown()
            server.server_close()


class TapResult(unittest.TextTestResult):
    """unittest's result, plus one TAP line per test and the TAP summary tools/test-count.sh counts."""

    def stopTest(self, test):
        super().stopTest(test)
        failed = any(t is test for t, _ in self.failures + self.errors)
        self.stream.writeln(f"{'not ok' if failed else 'ok'} {self.testsRun} - {test.id()}")


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(stream=sys.stdout, resultclass=TapResult, verbosity=0).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.skipped)  # a skipped test is a failure
    print(f"1..{result.testsRun}\n# pass {result.testsRun - failed}\n# fail {failed}")
    sys.exit(0 if failed == 0 else 1)
