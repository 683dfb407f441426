/* End-to-end: concurrent burns on one member never overdraw it; concurrent duplicates of one
 * idempotency key have exactly one effect; a mixed concurrent load keeps the books balanced. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "support.h"

#define THREADS 16

static test_env_t env;
static test_key_t coffee, books;

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_concurrency");
    test_partner(&env, "coffee", 0, &coffee);
    test_partner(&env, "books", 0, &books);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&coffee);
    test_key_free(&books);
    return 0;
}

typedef struct {
    const char *path;
    const test_key_t *key;
    char body[256];
    const char *idempotency_key; /* NULL: a fresh one */
    int rounds;
    int status[64];
    test_reply_t first; /* the first round's reply, kept when keep_first */
    int keep_first;
} job_t;

static void *worker(void *arg)
{
    job_t *job = arg;
    for (int i = 0; i < job->rounds; i++) {
        test_reply_t reply = test_call(&env, job->key, "POST", job->path, job->body, job->idempotency_key);
        job->status[i] = reply.status;
        if (i == 0 && job->keep_first) {
            job->first = reply;
        } else {
            test_reply_free(&reply);
        }
    }
    return NULL;
}

static void run_jobs(job_t *jobs, int count)
{
    pthread_t threads[THREADS];
    for (int i = 0; i < count; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, worker, &jobs[i]), 0);
    for (int i = 0; i < count; i++)
        pthread_join(threads[i], NULL);
}

static void test_concurrent_burns_never_overdraw(void **state)
{
    (void)state;
    job_t jobs[THREADS];
    test_reply_t reply = test_call(&env, &coffee, "POST", "/v1/earn",
                                   "{\"member\":\"hot\",\"points\":100,\"reference\":\"seed\"}", NULL);
    assert_int_equal(reply.status, 201);
    test_reply_free(&reply);
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < THREADS; i++) {
        jobs[i].path = "/v1/burn";
        jobs[i].key = &books;
        jobs[i].rounds = 2;
        snprintf(jobs[i].body, sizeof jobs[i].body, "{\"member\":\"hot\",\"points\":5,\"reference\":\"burn-%d\"}", i);
    }
    /* two rounds each: the second reuses the reference, so it is a duplicate unless... it must 409 */
    run_jobs(jobs, THREADS);
    int ok = 0, refused = 0, duplicate = 0;
    for (int i = 0; i < THREADS; i++)
        for (int r = 0; r < 2; r++) {
            if (jobs[i].status[r] == 201)
                ok++;
            else if (jobs[i].status[r] == 422)
                refused++;
            else if (jobs[i].status[r] == 409)
                duplicate++;
            else
                fail_msg("unexpected status %d", jobs[i].status[r]);
        }
    assert_int_equal(ok, THREADS); /* 16 × 5 = 80 <= 100: every first burn succeeds */
    assert_int_equal(duplicate, THREADS);
    assert_int_equal(refused, 0);
    /* now overdraw: 16 threads × 3 burns of 5 against the 20 left */
    for (int i = 0; i < THREADS; i++) {
        jobs[i].rounds = 3;
        jobs[i].idempotency_key = NULL;
    }
    int succeeded = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < THREADS; i++) {
            jobs[i].rounds = 1;
            snprintf(jobs[i].body, sizeof jobs[i].body,
                     "{\"member\":\"hot\",\"points\":5,\"reference\":\"over-%d-%d\"}", round, i);
        }
        run_jobs(jobs, THREADS);
        for (int i = 0; i < THREADS; i++) {
            assert_true(jobs[i].status[0] == 201 || jobs[i].status[0] == 422);
            succeeded += jobs[i].status[0] == 201;
        }
    }
    assert_int_equal(succeeded, 4); /* exactly the 20 points left */
    assert_int_equal(test_sql_int(&env, "SELECT balance FROM accounts WHERE account = 'member:hot'"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}

static void test_concurrent_duplicates_one_effect(void **state)
{
    (void)state;
    job_t jobs[THREADS];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < THREADS; i++) {
        jobs[i].path = "/v1/earn";
        jobs[i].key = &coffee;
        jobs[i].rounds = 3;
        jobs[i].idempotency_key = "same-key";
        snprintf(jobs[i].body, sizeof jobs[i].body, "{\"member\":\"dup\",\"points\":7,\"reference\":\"dup-1\"}");
    }
    run_jobs(jobs, THREADS);
    int created = 0;
    for (int i = 0; i < THREADS; i++)
        for (int r = 0; r < 3; r++) {
            assert_true(jobs[i].status[r] == 201 || jobs[i].status[r] == 409);
            created += jobs[i].status[r] == 201;
        }
    assert_true(created >= 1);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference = 'dup-1'"), 1);
    assert_int_equal(test_sql_int(&env, "SELECT balance FROM accounts WHERE account = 'member:dup'"), 7);
}

static void test_mixed_load_keeps_books_balanced(void **state)
{
    (void)state;
    job_t jobs[THREADS];
    memset(jobs, 0, sizeof jobs);
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < THREADS; i++) {
            int earn = (i + round) % 3 != 0;
            jobs[i].path = earn ? "/v1/earn" : "/v1/burn";
            jobs[i].key = earn ? &coffee : &books;
            jobs[i].rounds = 1;
            snprintf(jobs[i].body, sizeof jobs[i].body,
                     "{\"member\":\"mix-%d\",\"points\":%d,\"reference\":\"mix-%d-%d\"}", i % 4, earn ? 10 : 7, round,
                     i);
        }
        run_jobs(jobs, THREADS);
        for (int i = 0; i < THREADS; i++)
            assert_true(jobs[i].status[0] == 201 || jobs[i].status[0] == 422);
    }
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM accounts WHERE account LIKE 'member:%' AND balance < 0"),
                     0);
    /* the seq is gapless and every lot agrees with the issuer accounts */
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    assert_int_equal(
        test_sql_int(&env, "SELECT count(*) FROM accounts a WHERE a.account LIKE 'member:%' AND a.balance <> "
                           "(SELECT coalesce(sum(remaining),0) FROM lots WHERE 'member:' || member = a.account)"),
        0);
}

static void test_concurrent_journal_verifies(void **state)
{
    (void)state;
    char command[4096], ctl[256], verify[256], path[300];
    test_binary(ctl, sizeof ctl, "ledgerctl");
    test_binary(verify, sizeof verify, "ledger-verify");
    snprintf(path, sizeof path, "%s/concurrency-export.jsonl",
             getenv("TEST_LOG_DIR") ? getenv("TEST_LOG_DIR") : "/tmp");
    unlink(path);
    snprintf(command, sizeof command,
             "LEDGER_DATABASE_URL='%s' LEDGER_KEY_FILE='%s' %s export --out %s && "
             "%s %s --ledger-key \"$(%s pubkey --key-file %s)\" >/dev/null",
             env.db_url, env.key_file, ctl, path, verify, path, ctl, env.key_file);
    assert_int_equal(system(command), 0);
}

static double metric_value(const char *name)
{
    const char request[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    test_reply_t reply = test_raw(&env, request, strlen(request));
    assert_int_equal(reply.status, 200);
    char pattern[96];
    snprintf(pattern, sizeof pattern, "\n%s ", name);
    const char *at = strstr(reply.body, pattern);
    assert_non_null(at);
    double value = strtod(at + strlen(pattern), NULL);
    test_reply_free(&reply);
    return value;
}

static int64_t metric(const char *name)
{
    return (int64_t)metric_value(name);
}

static const char *const writer_phases[] = {"read", "plan", "write", "commit", "answer", "wait"};
enum { WRITER_PHASES = sizeof writer_phases / sizeof writer_phases[0] };

/* The writer's seconds so far in each phase (ledger_write_seconds_total{phase}). */
static void writer_seconds(double seconds[WRITER_PHASES])
{
    for (int i = 0; i < WRITER_PHASES; i++) {
        char name[96];
        snprintf(name, sizeof name, "ledger_write_seconds_total{phase=\"%s\"}", writer_phases[i]);
        seconds[i] = metric_value(name);
    }
}

static void *hold_journal_head(void *arg)
{
    (void)arg;
    assert_int_equal(test_sql_exec(&env, "BEGIN; SELECT 1 FROM journal_head FOR UPDATE; SELECT pg_sleep(1); COMMIT"),
                     0);
    return NULL;
}

/* Runs the jobs while another session holds the journal head, so they queue for the writer
 * and commit together once it is released. */
static void run_jobs_behind_held_head(job_t *jobs, int count)
{
    pthread_t holder;
    assert_true(count <= THREADS);
    assert_int_equal(pthread_create(&holder, NULL, hold_journal_head, NULL), 0);
    usleep(200000);
    run_jobs(jobs, count);
    pthread_join(holder, NULL);
}

/* Group commit: while another session holds the journal head, requests queue behind the writer's
 * first one and then commit together; a refusal and a duplicate inside that batch change nothing
 * for the others, and the seq stays gapless. */
static void test_group_commit_isolates_requests(void **state)
{
    (void)state;
    enum { JOBS = 8 }; /* all queue behind the writer's first one (mutations do not hold HTTP threads) */
    job_t jobs[JOBS];
    test_reply_t reply = test_move(&env, &coffee, "/v1/earn", "gc", 10, "gc-seed");
    assert_int_equal(reply.status, 201);
    test_reply_free(&reply);
    int64_t batches = metric("ledger_write_batches_total"), requests = metric("ledger_write_batch_requests_total");
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < JOBS; i++) {
        jobs[i].path = "/v1/earn";
        jobs[i].key = &coffee;
        jobs[i].rounds = 1;
        snprintf(jobs[i].body, sizeof jobs[i].body, "{\"member\":\"gc-%d\",\"points\":5,\"reference\":\"gc-%d\"}", i,
                 i);
    }
    jobs[1].path = "/v1/burn"; /* more than the member has: 422 */
    snprintf(jobs[1].body, sizeof jobs[1].body, "{\"member\":\"gc\",\"points\":11,\"reference\":\"gc-over\"}");
    snprintf(jobs[2].body, sizeof jobs[2].body, "{\"member\":\"gc\",\"points\":5,\"reference\":\"gc-seed\"}");
    run_jobs_behind_held_head(jobs, JOBS);
    assert_int_equal(jobs[1].status[0], 422);
    assert_int_equal(jobs[2].status[0], 409); /* duplicate reference */
    for (int i = 0; i < JOBS; i++)
        if (i != 1 && i != 2) assert_int_equal(jobs[i].status[0], 201);
    assert_int_equal(metric("ledger_write_batch_requests_total") - requests, JOBS);
    assert_true(metric("ledger_write_batches_total") - batches < JOBS); /* some committed together */
    assert_int_equal(test_sql_int(&env, "SELECT balance FROM accounts WHERE account = 'member:gc'"), 10);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'gc-%'"), JOBS - 1);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}

static job_t bulk_job(const char *path, const test_key_t *key, const char *member, int points, const char *reference,
                      const char *idempotency_key)
{
    job_t job;
    memset(&job, 0, sizeof job);
    job.path = path;
    job.key = key;
    job.rounds = 1;
    job.keep_first = 1;
    job.idempotency_key = idempotency_key;
    snprintf(job.body, sizeof job.body, "{\"member\":\"%s\",\"points\":%d,\"reference\":\"%s\"}", member, points,
             reference);
    return job;
}

/* Set-based group commit answers exactly as one request at a time would. While another session
 * holds the journal head, these queue into one batch of earns and burns: three earns of one
 * member (each answer counts the earlier ones), an earn and a burn of another member, an exact
 * duplicate (one effect, the same answer), two requests with one reference (one 409), an invalid
 * body (400) and an overdraft (422), both stored for replay. Nothing falls back to one request per
 * transaction, and the journal the batch wrote verifies (test_concurrent_journal_verifies). */
static void test_bulk_batch_answers_like_single_requests(void **state)
{
    (void)state;
    enum { JOBS = 11 };
    job_t jobs[JOBS];
    test_expect(test_move(&env, &coffee, "/v1/earn", "bk-b", 20, "bk-seed"), 201, NULL);
    int64_t bulk = metric("ledger_write_bulk_requests_total"), fallbacks = metric("ledger_write_batch_fallbacks_total");
    double before[WRITER_PHASES], after[WRITER_PHASES];
    writer_seconds(before);
    for (int i = 0; i < 3; i++) {
        char reference[16];
        snprintf(reference, sizeof reference, "bk-h%d", i);
        jobs[i] = bulk_job("/v1/earn", &coffee, "bk-hot", 5, reference, NULL);
    }
    jobs[3] = bulk_job("/v1/earn", &coffee, "bk-b", 4, "bk-e", NULL);
    jobs[4] = bulk_job("/v1/burn", &books, "bk-b", 8, "bk-u", NULL);
    jobs[5] = bulk_job("/v1/earn", &coffee, "bk-d", 7, "bk-d", "bk-dup-key");
    jobs[6] = bulk_job("/v1/earn", &coffee, "bk-d", 7, "bk-d", "bk-dup-key");
    jobs[7] = bulk_job("/v1/earn", &coffee, "bk-r", 3, "bk-same", NULL);
    jobs[8] = bulk_job("/v1/earn", &coffee, "bk-r", 3, "bk-same", NULL);
    jobs[9] = bulk_job("/v1/earn", &coffee, "bk-z", 0, "bk-z", "bk-bad-key");
    jobs[10] = bulk_job("/v1/burn", &books, "bk-b", 1000, "bk-o", NULL);
    run_jobs_behind_held_head(jobs, JOBS);
    int64_t seen = 0; /* bit b: an answer reported balance 5 * b */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(jobs[i].status[0], 201);
        int64_t balance = test_int(jobs[i].first.json, "balance.balance");
        assert_int_equal(test_int(jobs[i].first.json, "balance.available"), balance);
        seen |= (int64_t)1 << (balance / 5);
    }
    assert_int_equal(seen, (1 << 1) | (1 << 2) | (1 << 3));
    assert_int_equal(jobs[3].status[0], 201);
    assert_int_equal(jobs[4].status[0], 201);
    int64_t earn_saw = test_int(jobs[3].first.json, "balance.balance");
    int64_t burn_saw = test_int(jobs[4].first.json, "balance.balance");
    assert_true((earn_saw == 24 && burn_saw == 16) || (burn_saw == 12 && earn_saw == 16));
    assert_int_equal(test_sql_int(&env, "SELECT balance FROM accounts WHERE account = 'member:bk-b'"), 16);
    assert_int_equal(jobs[5].status[0], 201);
    assert_int_equal(jobs[6].status[0], 201);
    assert_string_equal(jobs[5].first.body, jobs[6].first.body);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference = 'bk-d'"), 1);
    assert_int_equal(jobs[7].status[0] + jobs[8].status[0], 201 + 409);
    assert_string_equal(test_code(jobs[7].status[0] == 409 ? &jobs[7].first : &jobs[8].first), "duplicate_reference");
    assert_int_equal(jobs[9].status[0], 400);
    assert_string_equal(test_code(&jobs[9].first), "invalid_field");
    assert_int_equal(jobs[10].status[0], 422);
    assert_string_equal(test_code(&jobs[10].first), "insufficient_points");
    int64_t available = test_int(jobs[10].first.json, "available"); /* before, between or after jobs 3 and 4 */
    assert_true(available == 20 || available == 24 || available == 12 || available == 16);
    test_reply_t replay = test_call(&env, &coffee, "POST", "/v1/earn", jobs[9].body, "bk-bad-key");
    assert_int_equal(replay.status, 400);
    assert_string_equal(replay.body, jobs[9].first.body);
    test_reply_free(&replay);
    assert_int_equal(metric("ledger_write_bulk_requests_total") - bulk, JOBS + 1);
    assert_int_equal(metric("ledger_write_batch_fallbacks_total"), fallbacks);
    writer_seconds(after); /* the writer's time is accounted to every phase */
    for (int i = 0; i < WRITER_PHASES; i++)
        assert_true(after[i] > before[i]);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    for (int i = 0; i < JOBS; i++)
        test_reply_free(&jobs[i].first);
}

/* A set-based write the database refuses (a fault injected by a trigger on one member) rolls the
 * whole batch back, and each of its requests is then applied alone: the others commit, only the
 * faulty one fails, nothing is half-written and the journal stays gapless. */
static void test_bulk_failure_falls_back_per_request(void **state)
{
    (void)state;
    enum { JOBS = 5 };
    job_t jobs[JOBS];
    assert_int_equal(test_sql_exec(&env, "CREATE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql AS $$ "
                                         "BEGIN IF NEW.member = 'bf-fault' THEN RAISE EXCEPTION 'injected fault'; "
                                         "END IF; RETURN NEW; END $$; "
                                         "CREATE TRIGGER test_fault BEFORE INSERT ON transactions "
                                         "FOR EACH ROW EXECUTE FUNCTION test_fault()"),
                     0);
    int64_t fallbacks = metric("ledger_write_batch_fallbacks_total");
    for (int i = 0; i < JOBS - 1; i++) {
        char member[16];
        snprintf(member, sizeof member, "bf-%d", i);
        jobs[i] = bulk_job("/v1/earn", &coffee, member, 6, member, NULL);
    }
    jobs[JOBS - 1] = bulk_job("/v1/earn", &coffee, "bf-fault", 6, "bf-fault", NULL);
    run_jobs_behind_held_head(jobs, JOBS);
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER test_fault ON transactions; DROP FUNCTION test_fault()"), 0);
    for (int i = 0; i < JOBS - 1; i++)
        assert_int_equal(jobs[i].status[0], 201);
    assert_int_equal(jobs[JOBS - 1].status[0], 500);
    assert_true(metric("ledger_write_batch_fallbacks_total") > fallbacks);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE member LIKE 'bf-%'"), JOBS - 1);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM accounts WHERE account = 'member:bf-fault'"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    for (int i = 0; i < JOBS; i++)
        test_reply_free(&jobs[i].first);
}

/* JOBS earns of one member each, "<prefix>-m<i>", reference "<prefix>-<i>", Idempotency-Key
 * "<prefix>-key-<i>", run while another session holds the journal head (one batch). */
static void run_refusal_jobs(job_t *jobs, int count, const char *prefix, char (*keys)[16])
{
    for (int i = 0; i < count; i++) {
        char member[16], reference[16];
        snprintf(member, sizeof member, "%s-m%d", prefix, i);
        snprintf(reference, sizeof reference, "%s-%d", prefix, i);
        snprintf(keys[i], sizeof keys[i], "%s-key-%d", prefix, i);
        jobs[i] = bulk_job("/v1/earn", &coffee, member, 3, reference, keys[i]);
    }
    run_jobs_behind_held_head(jobs, count);
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER test_race ON transactions; DROP FUNCTION test_race()"), 0);
}

/* The refused ones (bit i of refused) answered 409 duplicate_reference, recorded: the same request
 * again replays the refusal though the trigger is gone; every other one 201. */
static void check_refusal_answers(job_t *jobs, int count, unsigned refused, char (*keys)[16])
{
    for (int i = 0; i < count; i++) {
        if (refused & (1u << i)) {
            assert_int_equal(jobs[i].status[0], 409);
            assert_string_equal(test_code(&jobs[i].first), "duplicate_reference");
            test_reply_t again = test_call(&env, &coffee, "POST", "/v1/earn", jobs[i].body, keys[i]);
            assert_int_equal(again.status, 409);
            assert_string_equal(again.body, jobs[i].first.body);
            test_reply_free(&again);
        } else {
            assert_int_equal(jobs[i].status[0], 201);
        }
        test_reply_free(&jobs[i].first);
    }
}

/* A refusal only the database can see (the reference another instance took between the group's
 * read and its write: a unique violation, raised here by a test trigger for two of eight
 * requests) is narrowed down in place: those two answer 409 duplicate_reference exactly as a
 * request alone would, recorded under their Idempotency-Key (a retry replays it), and the six
 * others commit in the same batch; nothing of the refused ones is written. */
static void test_refused_write_narrowed_to_its_request(void **state)
{
    (void)state;
    enum { JOBS = 8 };
    job_t jobs[JOBS];
    assert_int_equal(test_sql_exec(&env, "CREATE FUNCTION test_race() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                                         "IF EXISTS (SELECT 1 FROM written WHERE reference IN ('rw-2', 'rw-5')) THEN "
                                         "RAISE unique_violation USING CONSTRAINT = 'transactions_reference_unique'; "
                                         "END IF; RETURN NULL; END $$; "
                                         "CREATE TRIGGER test_race AFTER INSERT ON transactions REFERENCING NEW "
                                         "TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION test_race()"),
                     0);
    int64_t fallbacks = metric("ledger_write_batch_fallbacks_total");
    int64_t named = metric("ledger_write_refusals_named_total");
    char keys[JOBS][16];
    run_refusal_jobs(jobs, JOBS, "rw", keys);
    check_refusal_answers(jobs, JOBS, 1u << 2 | 1u << 5, keys);
    assert_true(metric("ledger_write_batch_fallbacks_total") > fallbacks);
    assert_int_equal(metric("ledger_write_refusals_named_total"), named); /* no DETAIL: narrowed down */
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'rw-%'"), JOBS - 2);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM lots WHERE member IN ('rw-m2', 'rw-m5')"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}

/* The same refusal as PostgreSQL itself reports it (a row's unique violation whose DETAIL names
 * the key it found taken, raised here by a test trigger for two of eight requests): the two named
 * requests are planned again as that refusal with the rest of their group, without narrowing
 * down (decision 197), and every answer is the one a request alone would get. A DETAIL that names
 * a key of no request in the group (a third reference refused, its DETAIL naming another) is not
 * trusted: that refusal is narrowed down, and answered the same. */
static void test_named_refusal_planned_again(void **state)
{
    (void)state;
    enum { JOBS = 8 };
    job_t jobs[JOBS];
    assert_int_equal(
        test_sql_exec(&env, "CREATE FUNCTION test_race() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                            "IF NEW.reference IN ('rn-2', 'rn-5', 'rn-7') THEN "
                            "RAISE unique_violation USING CONSTRAINT = 'transactions_reference_unique', "
                            "MESSAGE = 'duplicate key value violates unique constraint', "
                            "DETAIL = format('Key (partner, reference_key, reference)=(%s, %s, %s) already exists.', "
                            "NEW.partner, NEW.reference_key, "
                            "CASE NEW.reference WHEN 'rn-7' THEN 'elsewhere' ELSE NEW.reference END); "
                            "END IF; RETURN NEW; END $$; "
                            "CREATE TRIGGER test_race BEFORE INSERT ON transactions FOR EACH ROW "
                            "EXECUTE FUNCTION test_race()"),
        0);
    int64_t named = metric("ledger_write_refusals_named_total");
    char keys[JOBS][16];
    run_refusal_jobs(jobs, JOBS, "rn", keys);
    check_refusal_answers(jobs, JOBS, 1u << 2 | 1u << 5 | 1u << 7, keys);
    assert_int_equal(metric("ledger_write_refusals_named_total") - named, 2); /* rn-2 and rn-5, not rn-7 */
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'rn-%'"), JOBS - 3);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM lots WHERE member IN ('rn-m2', 'rn-m5', 'rn-m7')"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}

/* After a refusal the next groups are written in chunks of LIMIT_WRITE_CHUNK_REQUESTS (decision
 * 101): here ten of sixteen earns are refused by the database, so the batch of fifteen behind the
 * first holds at least nine, in at least three chunks, each refused and narrowed down on its own
 * (a group written whole counts one refusal however many it holds: at most two here). Every
 * request is answered as it would be alone, and nothing of the refused ones is written. */
static void test_refusals_narrowed_in_chunks(void **state)
{
    (void)state;
    enum { JOBS = THREADS };
    job_t jobs[JOBS];
    assert_int_equal(test_sql_exec(&env, "CREATE FUNCTION test_race() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                                         "IF EXISTS (SELECT 1 FROM written WHERE reference LIKE 'rc-%' AND "
                                         "substr(reference, 4)::int < 10) THEN "
                                         "RAISE unique_violation USING CONSTRAINT = 'transactions_reference_unique'; "
                                         "END IF; RETURN NULL; END $$; "
                                         "CREATE TRIGGER test_race AFTER INSERT ON transactions REFERENCING NEW "
                                         "TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION test_race()"),
                     0);
    test_reply_t arm = test_move(&env, &coffee, "/v1/earn", "rc-arm", 1, "rc-0"); /* refused: chunks from now */
    assert_int_equal(arm.status, 409);
    test_reply_free(&arm);
    int64_t fallbacks = metric("ledger_write_batch_fallbacks_total");
    for (int i = 0; i < JOBS; i++) {
        char member[16], reference[16];
        snprintf(member, sizeof member, "rc-m%d", i);
        snprintf(reference, sizeof reference, "rc-%d", i < 10 ? i : 100 + i);
        jobs[i] = bulk_job("/v1/earn", &coffee, member, 3, reference, NULL);
    }
    run_jobs_behind_held_head(jobs, JOBS);
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER test_race ON transactions; DROP FUNCTION test_race()"), 0);
    for (int i = 0; i < JOBS; i++) {
        if (i == 0) { /* its reference was refused (and recorded) for the arming earn: 409 either way */
            assert_int_equal(jobs[i].status[0], 409);
        } else if (i < 10) {
            assert_int_equal(jobs[i].status[0], 409);
            assert_string_equal(test_code(&jobs[i].first), "duplicate_reference");
        } else {
            assert_int_equal(jobs[i].status[0], 201);
        }
        test_reply_free(&jobs[i].first);
    }
    assert_true(metric("ledger_write_batch_fallbacks_total") - fallbacks >= 3);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'rc-%'"), JOBS - 10);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM lots WHERE member LIKE 'rc-m%' AND points = 3"),
                     JOBS - 10);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}


/* review17: a chunked write (decision 101) longer than one pipeline (LIMIT_STORE_PIPELINE_MAX):
 * 59 requests queue behind the writer's first, one group of 15 chunks of burns and earns, about 9
 * statements each, so the pipeline is read mid-way; every seventh reference is refused by the
 * database, so refusals fall in the first, middle and last chunks, before and after the
 * pipeline's flush. The earns of five members are spread over the chunks: each answered balance
 * must be one step of its member's running total (a delta of an undone chunk counted, or lost,
 * shows as a repeated or missing step), nothing of a refused request is written or recorded
 * 201, and the seq stays gapless. */
enum { CHUNKED_JOBS = 100, CHUNKED_EARNERS = 5 };

static void *chunked_worker(void *arg)
{
    job_t *job = arg;
    job->first = test_call(&env, job->key, "POST", job->path, job->body, NULL);
    job->status[0] = job->first.status;
    return NULL;
}

static int chunked_bad(int i)
{
    return i % 13 == 5;
}

static void test_chunked_write_longer_than_a_pipeline(void **state)
{
    (void)state;
    static job_t jobs[CHUNKED_JOBS];
    pthread_t threads[CHUNKED_JOBS], holder;
    for (int i = 0; i < CHUNKED_JOBS; i += 3) { /* every third job burns 10 of a seeded member's 50 */
        char member[16], reference[24];
        snprintf(member, sizeof member, "cx-b%d", i);
        snprintf(reference, sizeof reference, "cx-seed-%d", i);
        test_reply_t seed = test_move(&env, &coffee, "/v1/earn", member, 50, reference);
        assert_int_equal(seed.status, 201);
        test_reply_free(&seed);
    }
    assert_int_equal(test_sql_exec(&env, "CREATE FUNCTION test_race() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                                         "IF EXISTS (SELECT 1 FROM written WHERE reference LIKE 'cx-bad-%') THEN "
                                         "RAISE unique_violation USING CONSTRAINT = 'transactions_reference_unique'; "
                                         "END IF; RETURN NULL; END $$; "
                                         "CREATE TRIGGER test_race AFTER INSERT ON transactions REFERENCING NEW "
                                         "TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION test_race()"),
                     0);
    test_reply_t arm = test_move(&env, &coffee, "/v1/earn", "cx-arm", 1, "cx-bad-arm"); /* chunks from now */
    assert_int_equal(arm.status, 409);
    test_reply_free(&arm);
    for (int i = 0; i < CHUNKED_JOBS; i++) {
        char member[16], reference[24];
        int burn = i % 3 == 0;
        if (burn)
            snprintf(member, sizeof member, "cx-b%d", i);
        else
            snprintf(member, sizeof member, "cx-e%d", i % CHUNKED_EARNERS);
        snprintf(reference, sizeof reference, "cx-%s-%d", chunked_bad(i) ? "bad" : "ok", i);
        jobs[i] = bulk_job(burn ? "/v1/burn" : "/v1/earn", burn ? &books : &coffee, member, burn ? 10 : 3, reference,
                           NULL);
    }
    assert_int_equal(pthread_create(&holder, NULL, hold_journal_head, NULL), 0);
    usleep(200000);
    for (int i = 0; i < CHUNKED_JOBS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, chunked_worker, &jobs[i]), 0);
    for (int i = 0; i < CHUNKED_JOBS; i++)
        pthread_join(threads[i], NULL);
    pthread_join(holder, NULL);
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER test_race ON transactions; DROP FUNCTION test_race()"), 0);
    int good_earns[CHUNKED_EARNERS] = {0};
    int64_t seen[CHUNKED_EARNERS][CHUNKED_JOBS] = {{0}};
    for (int i = 0; i < CHUNKED_JOBS; i++) {
        if (chunked_bad(i)) {
            assert_int_equal(jobs[i].status[0], 409);
            assert_string_equal(test_code(&jobs[i].first), "duplicate_reference");
        } else {
            if (jobs[i].status[0] != 201) fail_msg("job %d (%s) answered %d: %s", i, jobs[i].body, jobs[i].status[0],
                                                   jobs[i].first.body ? jobs[i].first.body : "");
            int64_t available = test_int(jobs[i].first.json, "balance.available");
            if (i % 3 == 0) {
                assert_int_equal(available, 40);
            } else {
                int e = i % CHUNKED_EARNERS;
                assert_true(available % 3 == 0 && available >= 3 && available / 3 <= CHUNKED_JOBS);
                seen[e][available / 3 - 1]++;
                good_earns[e]++;
            }
        }
        test_reply_free(&jobs[i].first);
    }
    for (int e = 0; e < CHUNKED_EARNERS; e++) {
        char sql[160];
        for (int k = 0; k < good_earns[e]; k++) /* answered 3, 6, 9 ... each once */
            if (seen[e][k] != 1) fail_msg("member cx-e%d: balance %d answered %lld times", e, 3 * (k + 1),
                                          (long long)seen[e][k]);
        snprintf(sql, sizeof sql, "SELECT balance FROM accounts WHERE account = 'member:cx-e%d'", e);
        assert_int_equal(test_sql_int(&env, sql), 3 * good_earns[e]);
    }
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'cx-bad-%'"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM idempotency WHERE status = 201 AND body LIKE '%cx-bad-%'"),
                     0);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'cx-ok-%'"),
                     test_sql_int(&env, "SELECT count(*) FROM idempotency WHERE status = 201 AND body LIKE '%cx-ok-%'"));
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    assert_int_equal(
        test_sql_int(&env, "SELECT count(*) FROM accounts a WHERE a.account LIKE 'member:cx-%' AND a.balance <> "
                           "(SELECT coalesce(sum(remaining),0) FROM lots WHERE 'member:' || member = a.account)"),
        0);
}


/* review17: a busy database (lock_not_available, 55P03) inside a chunked write (decision 101):
 * the batch fails and is applied again isolated, where the busy chunk and the ones after it are
 * answered 503 database_busy with Retry-After and nothing of them is written; the chunks before
 * it commit and answer 201. Sent again, every 503 one succeeds (it was never applied). */
static void test_busy_chunk_answered_and_not_written(void **state)
{
    (void)state;
    enum { JOBS = THREADS };
    job_t jobs[JOBS];
    assert_int_equal(test_sql_exec(&env, "CREATE FUNCTION test_race() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                                         "IF EXISTS (SELECT 1 FROM written WHERE reference LIKE 'cy-bad-%') THEN "
                                         "RAISE unique_violation USING CONSTRAINT = 'transactions_reference_unique'; "
                                         "END IF; "
                                         "IF EXISTS (SELECT 1 FROM written WHERE reference LIKE 'cy-busy-%') THEN "
                                         "RAISE lock_not_available; END IF; RETURN NULL; END $$; "
                                         "CREATE TRIGGER test_race AFTER INSERT ON transactions REFERENCING NEW "
                                         "TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION test_race()"),
                     0);
    test_reply_t arm = test_move(&env, &coffee, "/v1/earn", "cy-arm", 1, "cy-bad-arm"); /* chunks from now */
    assert_int_equal(arm.status, 409);
    test_reply_free(&arm);
    for (int i = 0; i < JOBS; i++) {
        char member[16], reference[24];
        snprintf(member, sizeof member, "cy-m%d", i);
        snprintf(reference, sizeof reference, "cy-%s-%d", i == JOBS / 2 ? "busy" : "ok", i);
        jobs[i] = bulk_job("/v1/earn", &coffee, member, 2, reference, NULL);
    }
    run_jobs_behind_held_head(jobs, JOBS);
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER test_race ON transactions; DROP FUNCTION test_race()"), 0);
    int created = 0, busy = 0;
    for (int i = 0; i < JOBS; i++) {
        if (jobs[i].status[0] == 201) {
            created++;
        } else {
            if (jobs[i].status[0] != 503) fail_msg("job %d answered %d: %s", i, jobs[i].status[0], jobs[i].first.body);
            assert_string_equal(test_code(&jobs[i].first), "database_busy");
            busy++;
        }
    }
    assert_int_equal(jobs[JOBS / 2].status[0], 503);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'cy-%'"), created);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM idempotency WHERE body LIKE '%cy-%'"), created);
    for (int i = 0; i < JOBS; i++) {
        if (jobs[i].status[0] == 503) { /* never applied: the same earn succeeds now */
            test_reply_t again = test_call(&env, &coffee, "POST", "/v1/earn", jobs[i].body, NULL);
            assert_int_equal(again.status, 201);
            test_reply_free(&again);
        }
        test_reply_free(&jobs[i].first);
    }
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'cy-%'"), JOBS);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}


/* review17: a refusal in one of the last chunks of a 64-request group, after the pipeline was
 * read mid-way (the ~16 x 9 statements exceed LIMIT_STORE_PIPELINE_MAX): the database refuses,
 * once, the rows holding one seq near the end of the batch (a sequence counts refusals: it is not
 * undone). That chunk alone is undone and narrowed down, where the write passes: every request is
 * 201, once, at a gapless seq. A refusal blamed on the wrong chunk would re-plan seqs that the
 * chunks in between already hold (journal key violations: 500s) or lose their rows. */
static void test_refusal_after_mid_pipeline_flush(void **state)
{
    (void)state;
    enum { JOBS = 70 };
    static job_t jobs[JOBS];
    pthread_t threads[JOBS], holder;
    for (int i = 0; i < JOBS; i += 3) {
        char member[16], reference[24];
        snprintf(member, sizeof member, "cz-b%d", i);
        snprintf(reference, sizeof reference, "cz-seed-%d", i);
        test_reply_t seed = test_move(&env, &coffee, "/v1/earn", member, 50, reference);
        assert_int_equal(seed.status, 201);
        test_reply_free(&seed);
    }
    int64_t base = test_sql_int(&env, "SELECT max(seq) FROM journal") + 1; /* + 1: the arming earn */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "CREATE SEQUENCE test_once; CREATE FUNCTION test_race() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
             "IF EXISTS (SELECT 1 FROM written WHERE reference = 'cz-bad-arm') OR "
             "(EXISTS (SELECT 1 FROM written WHERE seq = %lld) AND nextval('test_once') = 1) THEN "
             "RAISE unique_violation USING CONSTRAINT = 'transactions_reference_unique'; "
             "END IF; RETURN NULL; END $$; "
             "CREATE TRIGGER test_race AFTER INSERT ON transactions REFERENCING NEW "
             "TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION test_race()",
             (long long)(base + 60));
    assert_int_equal(test_sql_exec(&env, sql), 0);
    test_reply_t arm = test_move(&env, &coffee, "/v1/earn", "cz-arm", 1, "cz-bad-arm"); /* chunks from now */
    assert_int_equal(arm.status, 409);
    test_reply_free(&arm);
    for (int i = 0; i < JOBS; i++) {
        char member[16], reference[24];
        int burn = i % 3 == 0;
        snprintf(member, sizeof member, burn ? "cz-b%d" : "cz-e%d", burn ? i : i % 5);
        snprintf(reference, sizeof reference, "cz-ok-%d", i);
        jobs[i] = bulk_job(burn ? "/v1/burn" : "/v1/earn", burn ? &books : &coffee, member, burn ? 10 : 3, reference,
                           NULL);
    }
    assert_int_equal(pthread_create(&holder, NULL, hold_journal_head, NULL), 0);
    usleep(200000);
    for (int i = 0; i < JOBS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, chunked_worker, &jobs[i]), 0);
    for (int i = 0; i < JOBS; i++)
        pthread_join(threads[i], NULL);
    pthread_join(holder, NULL);
    int64_t refusals = test_sql_int(&env, "SELECT last_value FROM test_once");
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER test_race ON transactions; DROP FUNCTION test_race(); "
                                         "DROP SEQUENCE test_once"),
                     0);
    int refused = 0;
    for (int i = 0; i < JOBS; i++) {
        if (jobs[i].status[0] == 409) {
            assert_string_equal(test_code(&jobs[i].first), "duplicate_reference");
            refused++;
        } else if (jobs[i].status[0] != 201) {
            fail_msg("job %d answered %d: %s", i, jobs[i].status[0], jobs[i].first.body);
        }
        test_reply_free(&jobs[i].first);
    }
    assert_true(refusals >= 1);
    assert_int_equal(refused, 0);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'cz-ok-%'"), JOBS);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM idempotency WHERE status = 201 AND body LIKE '%cz-ok-%'"),
                     JOBS);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}

/* review13: a refused request whose refusal record fails too (its Idempotency-Key refused by a
 * trigger), followed in the same group by a request of the same member: the refused one is
 * answered alone with nothing written (a retry later commits it once), its member's next request
 * sees the balance without it, the journal stays gapless. */
static void test_refusal_record_refused(void **state)
{
    (void)state;
    enum { JOBS = 8 };
    job_t jobs[JOBS];
    assert_int_equal(test_sql_exec(&env, "CREATE FUNCTION test_race() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                                         "IF EXISTS (SELECT 1 FROM written WHERE reference IN ('rr-2', 'rr-5')) THEN "
                                         "RAISE unique_violation USING CONSTRAINT = 'transactions_reference_unique'; "
                                         "END IF; RETURN NULL; END $$; "
                                         "CREATE TRIGGER test_race AFTER INSERT ON transactions REFERENCING NEW "
                                         "TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION test_race(); "
                                         "CREATE FUNCTION test_record() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                                         "IF NEW.key = 'rr-key-2' THEN RAISE EXCEPTION 'test: record refused'; END IF; "
                                         "RETURN NEW; END $$; "
                                         "CREATE TRIGGER test_record BEFORE INSERT ON idempotency "
                                         "FOR EACH ROW EXECUTE FUNCTION test_record()"),
                     0);
    char keys[JOBS][16];
    for (int i = 0; i < JOBS; i++) {
        char member[16], reference[16];
        snprintf(member, sizeof member, "rr-m%d", i == 3 ? 2 : i); /* 3: the member of refused 2 */
        snprintf(reference, sizeof reference, "rr-%d", i);
        snprintf(keys[i], sizeof keys[i], "rr-key-%d", i);
        jobs[i] = bulk_job("/v1/earn", &coffee, member, 3, reference, keys[i]);
    }
    run_jobs_behind_held_head(jobs, JOBS);
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER test_race ON transactions; DROP FUNCTION test_race(); "
                                         "DROP TRIGGER test_record ON idempotency; DROP FUNCTION test_record()"),
                     0);
    for (int i = 0; i < JOBS; i++) {
        if (i == 2) {
            assert_true(jobs[i].status[0] >= 500);
        } else if (i == 5) {
            assert_int_equal(jobs[i].status[0], 409);
        } else {
            assert_int_equal(jobs[i].status[0], 201);
        }
        if (i == 3) { /* rr-m2's balance without the refused 2 */
            assert_int_equal(test_int(jobs[i].first.json, "balance.balance"), 3);
        }
        test_reply_free(&jobs[i].first);
    }
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'rr-%'"), JOBS - 2);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM idempotency WHERE key = 'rr-key-2'"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    /* nothing recorded: the retry commits it, once */
    test_reply_t again = test_call(&env, &coffee, "POST", "/v1/earn", jobs[2].body, keys[2]);
    assert_int_equal(again.status, 201);
    test_reply_free(&again);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference = 'rr-2'"), 1);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_burns_never_overdraw),
        cmocka_unit_test(test_concurrent_duplicates_one_effect),
        cmocka_unit_test(test_mixed_load_keeps_books_balanced),
        cmocka_unit_test(test_group_commit_isolates_requests),
        cmocka_unit_test(test_bulk_batch_answers_like_single_requests),
        cmocka_unit_test(test_bulk_failure_falls_back_per_request),
        cmocka_unit_test(test_refused_write_narrowed_to_its_request),
        cmocka_unit_test(test_named_refusal_planned_again),
        cmocka_unit_test(test_refusals_narrowed_in_chunks),
        cmocka_unit_test(test_chunked_write_longer_than_a_pipeline),
        cmocka_unit_test(test_busy_chunk_answered_and_not_written),
        cmocka_unit_test(test_refusal_after_mid_pipeline_flush),
        cmocka_unit_test(test_refusal_record_refused),
        cmocka_unit_test(test_concurrent_journal_verifies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
