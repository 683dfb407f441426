-- 0008_account_bound.sql — every account balance stays within ±(2^53 − 1) (issue 16; docs/
-- decisions.md 68). Balances are shown in JCS JSON, whose integers stop there: a brand's
-- issued total past it (≈ 9e6 earns of 1e9 points) would make the trial balance and liability
-- reports unanswerable. An earn that would cross it is refused (422 balance_limit): the service
-- checks members before writing (LIMIT_BALANCE_MAX), and this constraint catches every account,
-- the issuer's included; the store maps a violation of it to the same refusal.
ALTER TABLE accounts ADD CONSTRAINT balance_within_json
    CHECK (balance BETWEEN -9007199254740991 AND 9007199254740991);
