/* Unit tests for controller/rayjob_state: the jobDeploymentStatus state machine (spec rayjob.md
 * §5), table-driven: each row is a RayJob spec, the status as read, what the reconcile observed,
 * and what the machine must decide. Includes the two KubeRay quirks the issue asks to fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/rayjob_state.h"

#define T0     1704067200 /* 2024-01-01T00:00:00Z */
#define T0_STR "2024-01-01T00:00:00Z"

#define CLUSTER_SPEC                                                                               \
    "\"rayClusterSpec\": {\"headGroupSpec\": {\"template\": {\"spec\": {\"containers\": "          \
    "[{\"name\": \"ray-head\", \"image\": \"ray\"}]}}}}"

struct row {
    const char *name;
    const char *spec;   /* members of spec (CLUSTER_SPEC is added unless it has clusterSelector) */
    const char *status; /* the status object as read */
    struct rayjob_sm_obs obs;
    const char *cluster_state; /* RayCluster status.state, when the cluster is found */
    bool finalizer, deleting;
    /* expectations */
    enum rayjob_need need;
    const char *deploy;
    const char *job_status; /* NULL: not checked */
    const char *reason;     /* NULL: not checked */
    unsigned actions;
    bool write, error;
    int64_t requeue_s;
    int failed, succeeded; /* -1: not checked */
    const char *message;   /* substring; NULL: not checked */
};

#define K8S  "\"submissionMode\": \"K8sJobMode\""
#define HTTP "\"submissionMode\": \"HTTPMode\""
#define RUNNING_ST(extra)                                                                          \
    "{\"jobDeploymentStatus\": \"Running\", \"jobStatus\": \"RUNNING\", \"jobId\": \"j-abcde\", "  \
    "\"rayClusterName\": \"j-xyzwv\", \"dashboardURL\": \"svc:8265\", \"startTime\": \"" T0_STR    \
    "\", \"failed\": 0, \"succeeded\": 0" extra "}"
#define INIT_ST                                                                                    \
    "{\"jobDeploymentStatus\": \"Initializing\", \"jobId\": \"j-abcde\", \"rayClusterName\": "     \
    "\"j-xyzwv\", \"startTime\": \"" T0_STR "\", \"failed\": 0, \"succeeded\": 0}"

static const struct row ROWS[] = {
    {.name = "new_generates_ids_and_adds_the_finalizer",
     .spec = K8S,
     .status = "{}",
     .obs = {.now = T0, .job_suffix = "abcde", .cluster_suffix = "xyzwv"},
     .deploy = "Initializing",
     .actions = RAYJOB_ACT_ADD_FINALIZER,
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 0},
    {.name = "initializing_creates_the_cluster_and_waits_for_ready",
     .spec = K8S,
     .status = INIT_ST,
     .obs = {.now = T0 + 1},
     .finalizer = true,
     .deploy = "Initializing",
     .actions = RAYJOB_ACT_CREATE_CLUSTER,
     .requeue_s = 3,
     .failed = -1,
     .succeeded = -1},
    {.name = "suspended_when_created_suspended_creates_no_cluster",
     .spec = K8S ", \"suspend\": true, \"shutdownAfterJobFinishes\": true",
     .status = INIT_ST,
     .obs = {.now = T0 + 1},
     .finalizer = true,
     .deploy = "Suspending",
     .actions = 0,
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 0},
    {.name = "ready_cluster_creates_the_submitter_and_runs",
     .spec = K8S,
     .status = INIT_ST,
     .obs = {.now = T0 + 5, .cluster_found = true, .dashboard_url = "j-xyzwv-head-svc.ns.svc:8265"},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Running",
     .actions = RAYJOB_ACT_CREATE_SUBMITTER,
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 0},
    {.name = "ready_cluster_without_dashboard_port_is_an_error_requeue",
     .spec = K8S,
     .status = INIT_ST,
     .obs = {.now = T0 + 5, .cluster_found = true},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Initializing",
     .error = true,
     .failed = -1,
     .succeeded = -1},
    {.name = "interactive_waits_for_a_job_id",
     .spec = "\"submissionMode\": \"InteractiveMode\"",
     .status = INIT_ST,
     .obs = {.now = T0 + 5, .cluster_found = true, .dashboard_url = "svc:8265"},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Waiting",
     .write = true,
     .requeue_s = 3,
     .failed = -1,
     .succeeded = -1},
    {.name = "active_deadline_fails_without_retry",
     .spec = K8S ", \"activeDeadlineSeconds\": 10, \"backoffLimit\": 3",
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 10},
     .finalizer = true,
     .deploy = "Failed",
     .reason = "DeadlineExceeded",
     .write = true,
     .requeue_s = 3,
     .failed = 1,
     .succeeded = 0,
     .message = "The RayJob has passed the activeDeadlineSeconds. StartTime: 2024-01-01 00:00:00 "
                "+0000 UTC. ActiveDeadlineSeconds: 10"},
    {.name = "running_asks_the_dashboard",
     .spec = K8S,
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 10, .cluster_found = true, .submitter_found = true},
     .cluster_state = "ready",
     .finalizer = true,
     .need = RAYJOB_NEED_JOB_INFO,
     .failed = -1,
     .succeeded = -1},
    {.name = "succeeded_job_and_finished_submitter_complete",
     .spec = K8S,
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 20,
             .cluster_found = true,
             .submitter_found = true,
             .submitter_complete = true,
             .submitter_finished_at = T0 + 19,
             .info = RAYJOB_INFO_OK,
             .info_status = "SUCCEEDED",
             .info_message = "Job finished successfully.",
             .info_end_ms = (T0 + 18) * 1000LL},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Complete",
     .job_status = "SUCCEEDED",
     .reason = "",
     .actions = RAYJOB_ACT_ENSURE_HEAD_SERVICE,
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 1,
     .message = "Job finished successfully."},
    {.name = "succeeded_job_waits_for_the_submitter_to_finish",
     .spec = K8S,
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 20,
             .cluster_found = true,
             .submitter_found = true,
             .info = RAYJOB_INFO_OK,
             .info_status = "SUCCEEDED"},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Running",
     .job_status = "SUCCEEDED",
     .actions = RAYJOB_ACT_ENSURE_HEAD_SERVICE,
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 0},
    {.name = "failed_job_ends_failed_app_failed_and_retries_with_backoff_limit",
     .spec = K8S ", \"backoffLimit\": 1",
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 20,
             .cluster_found = true,
             .submitter_found = true,
             .submitter_complete = true,
             .submitter_finished_at = T0 + 19,
             .info = RAYJOB_INFO_OK,
             .info_status = "FAILED",
             .info_message = "Job entrypoint command failed with exit code 1"},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Retrying",
     .job_status = "FAILED",
     .reason = "AppFailed",
     .actions = RAYJOB_ACT_ENSURE_HEAD_SERVICE,
     .write = true,
     .requeue_s = 3,
     .failed = 1,
     .succeeded = 0,
     .message = "exit code 1"},
    {.name = "retry_budget_spent_ends_failed",
     .spec = K8S ", \"backoffLimit\": 1",
     .status = RUNNING_ST(", \"failed\": 1"),
     .obs = {.now = T0 + 20,
             .cluster_found = true,
             .submitter_found = true,
             .submitter_complete = true,
             .submitter_finished_at = T0 + 19,
             .info = RAYJOB_INFO_OK,
             .info_status = "FAILED"},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Failed",
     .reason = "AppFailed",
     .actions = RAYJOB_ACT_ENSURE_HEAD_SERVICE,
     .write = true,
     .requeue_s = 3,
     .failed = 2,
     .succeeded = 0},
    /* Fixed quirk 1: operator down > 30 s around the submitter's end. */
    {.name = "succeeded_job_seen_late_after_operator_downtime_is_complete_not_failed",
     .spec = K8S,
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 600,
             .cluster_found = true,
             .submitter_found = true,
             .submitter_complete = true,
             .submitter_finished_at = T0 + 19,
             .info = RAYJOB_INFO_OK,
             .info_status = "SUCCEEDED"},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Complete",
     .job_status = "SUCCEEDED",
     .actions = RAYJOB_ACT_ENSURE_HEAD_SERVICE,
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 1},
    /* Fixed quirk 2: the submitter Job failed (lost its connection) while the job runs. */
    {.name = "failed_submitter_does_not_end_a_running_ray_job",
     .spec = K8S,
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 600,
             .cluster_found = true,
             .submitter_found = true,
             .submitter_failed = true,
             .submitter_fail_reason = "BackoffLimitExceeded",
             .submitter_finished_at = T0 + 19,
             .info = RAYJOB_INFO_OK,
             .info_status = "RUNNING"},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Running",
     .job_status = "RUNNING",
     .actions = RAYJOB_ACT_ENSURE_HEAD_SERVICE,
     .write = true, /* rayClusterStatus mirrored */
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 0},
    {.name = "failed_submitter_and_unknown_job_is_submission_failed",
     .spec = K8S,
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 20,
             .cluster_found = true,
             .submitter_found = true,
             .submitter_failed = true,
             .submitter_fail_reason = "BackoffLimitExceeded",
             .submitter_fail_message = "Job has reached the specified backoff limit",
             .submitter_finished_at = T0 + 19,
             .info = RAYJOB_INFO_NOT_FOUND},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Failed",
     .reason = "SubmissionFailed",
     .actions = RAYJOB_ACT_ENSURE_HEAD_SERVICE,
     .write = true,
     .requeue_s = 3,
     .failed = 1,
     .succeeded = 0,
     .message = "Job submission has failed. Reason: BackoffLimitExceeded. Message: Job has reached "
                "the specified backoff limit"},
    {.name = "dashboard_unreachable_starts_the_status_check_timer",
     .spec = K8S,
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 20,
             .cluster_found = true,
             .submitter_found = true,
             .info = RAYJOB_INFO_ERROR},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Running",
     .actions = RAYJOB_ACT_ENSURE_HEAD_SERVICE,
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 0},
    {.name = "status_check_timeout_fails_without_retry",
     .spec = K8S ", \"backoffLimit\": 2",
     .status = RUNNING_ST(", \"jobStatusCheckFailureStartTime\": \"" T0_STR "\""),
     .obs = {.now = T0 + 300},
     .finalizer = true,
     .deploy = "Failed",
     .reason = "JobStatusCheckTimeoutExceeded",
     .write = true,
     .requeue_s = 3,
     .failed = 1,
     .message = "Job status checks have been failing since 2024-01-01 00:00:00; exceeded timeout "
                "of 300s"},
    {.name = "unreachable_dashboard_30s_after_the_submitter_finished_fails_the_job",
     .spec = K8S,
     .status = RUNNING_ST(", \"jobStatusCheckFailureStartTime\": \"" T0_STR "\""),
     .obs = {.now = T0 + 60,
             .cluster_found = true,
             .submitter_found = true,
             .submitter_complete = true,
             .submitter_finished_at = T0 + 20,
             .info = RAYJOB_INFO_ERROR},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Failed",
     .job_status = "FAILED",
     .reason = "JobDeploymentStatusTransitionGracePeriodExceeded",
     .actions = RAYJOB_ACT_ENSURE_HEAD_SERVICE,
     .write = true,
     .requeue_s = 3,
     .failed = 1,
     .message = "The RayJob submitter finished at 2024-01-01 00:00:20 but the ray job did not "
                "reach terminal state within 30s"},
    {.name = "http_mode_submits_on_404",
     .spec = HTTP,
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 20, .cluster_found = true, .info = RAYJOB_INFO_NOT_FOUND},
     .cluster_state = "ready",
     .finalizer = true,
     .need = RAYJOB_NEED_SUBMIT,
     .failed = -1,
     .succeeded = -1},
    {.name = "http_mode_submitted_waits",
     .spec = HTTP,
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 20,
             .cluster_found = true,
             .info = RAYJOB_INFO_NOT_FOUND,
             .submit = RAYJOB_SUBMIT_OK},
     .cluster_state = "ready",
     .finalizer = true,
     .deploy = "Running",
     .actions = RAYJOB_ACT_ENSURE_HEAD_SERVICE,
     .requeue_s = 3,
     .failed = -1,
     .succeeded = -1},
    {.name = "selector_cluster_missing_is_an_error_with_event",
     .spec = K8S ", \"clusterSelector\": {\"ray.io/cluster\": \"shared\"}",
     .status = INIT_ST,
     .obs = {.now = T0 + 1},
     .finalizer = true,
     .deploy = "Initializing",
     .actions = RAYJOB_ACT_CLUSTER_NOT_FOUND,
     .error = true,
     .failed = -1,
     .succeeded = -1},
    {.name = "retrying_deletes_cluster_and_submitter_first",
     .spec = K8S ", \"backoffLimit\": 1",
     .status =
         "{\"jobDeploymentStatus\": \"Retrying\", \"jobId\": \"j-abcde\", \"rayClusterName\": "
         "\"j-xyzwv\", \"failed\": 1, \"succeeded\": 0}",
     .obs = {.now = T0 + 30, .cluster_found = true, .submitter_found = true},
     .finalizer = true,
     .deploy = "Retrying",
     .actions = RAYJOB_ACT_DELETE_CLUSTER | RAYJOB_ACT_DELETE_SUBMITTER,
     .requeue_s = 3,
     .failed = 1,
     .succeeded = 0},
    {.name = "retrying_with_everything_gone_starts_a_new_attempt",
     .spec = K8S ", \"backoffLimit\": 1",
     .status = "{\"jobDeploymentStatus\": \"Retrying\", \"jobStatus\": \"FAILED\", \"jobId\": "
               "\"j-abcde\", \"rayClusterName\": \"j-xyzwv\", \"failed\": 1, \"succeeded\": 0}",
     .obs = {.now = T0 + 30},
     .finalizer = true,
     .deploy = "",
     .job_status = "",
     .write = true,
     .requeue_s = 3,
     .failed = 1,
     .succeeded = 0},
    {.name = "suspended_resumes_as_new",
     .spec = K8S ", \"shutdownAfterJobFinishes\": true",
     .status = "{\"jobDeploymentStatus\": \"Suspended\", \"failed\": 0, \"succeeded\": 0}",
     .obs = {.now = T0 + 30},
     .finalizer = true,
     .deploy = "",
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 0},
    {.name = "suspended_stays_while_suspend_is_set",
     .spec = K8S ", \"suspend\": true, \"shutdownAfterJobFinishes\": true",
     .status = "{\"jobDeploymentStatus\": \"Suspended\", \"failed\": 0, \"succeeded\": 0}",
     .obs = {.now = T0 + 30},
     .finalizer = true,
     .deploy = "Suspended",
     .failed = 0,
     .succeeded = 0},
    {.name = "complete_waits_for_the_ttl_then_deletes_the_cluster",
     .spec = K8S ", \"shutdownAfterJobFinishes\": true, \"ttlSecondsAfterFinished\": 10",
     .status = "{\"jobDeploymentStatus\": \"Complete\", \"jobStatus\": \"SUCCEEDED\", "
               "\"rayClusterName\": \"j-xyzwv\", \"endTime\": \"" T0_STR "\"}",
     .obs = {.now = T0 + 4, .cluster_found = true},
     .finalizer = true,
     .deploy = "Complete",
     .requeue_s = 8,
     .failed = -1,
     .succeeded = -1},
    {.name = "complete_after_the_ttl_deletes_the_cluster",
     .spec = K8S ", \"shutdownAfterJobFinishes\": true, \"ttlSecondsAfterFinished\": 10",
     .status = "{\"jobDeploymentStatus\": \"Complete\", \"jobStatus\": \"SUCCEEDED\", "
               "\"rayClusterName\": \"j-xyzwv\", \"endTime\": \"" T0_STR "\"}",
     .obs = {.now = T0 + 10, .cluster_found = true},
     .finalizer = true,
     .deploy = "Complete",
     .actions = RAYJOB_ACT_DELETE_CLUSTER,
     .failed = -1,
     .succeeded = -1},
    {.name = "deletion_rules_run_the_most_destructive_overdue_rule",
     .spec = K8S ", \"deletionStrategy\": {\"deletionRules\": ["
                 "{\"policy\": \"DeleteWorkers\", \"condition\": {\"jobStatus\": \"FAILED\"}},"
                 "{\"policy\": \"DeleteCluster\", \"condition\": {\"jobStatus\": \"FAILED\", "
                 "\"ttlSeconds\": 5}},"
                 "{\"policy\": \"DeleteSelf\", \"condition\": {\"jobStatus\": \"FAILED\", "
                 "\"ttlSeconds\": 100}}]}",
     .status = "{\"jobDeploymentStatus\": \"Failed\", \"jobStatus\": \"FAILED\", "
               "\"rayClusterName\": \"j-xyzwv\", \"endTime\": \"" T0_STR "\"}",
     .obs = {.now = T0 + 50, .cluster_found = true},
     .finalizer = true,
     .deploy = "Failed",
     .actions = RAYJOB_ACT_DELETE_CLUSTER,
     .requeue_s = 52,
     .failed = -1,
     .succeeded = -1},
    {.name = "deleting_a_running_job_stops_it_and_removes_the_finalizer",
     .spec = K8S,
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 50},
     .finalizer = true,
     .deleting = true,
     .deploy = "Running",
     .actions = RAYJOB_ACT_STOP_JOB | RAYJOB_ACT_REMOVE_FINALIZER,
     .requeue_s = 3,
     .failed = -1,
     .succeeded = -1},
    {.name = "suspend_while_running_goes_to_suspending",
     .spec = K8S ", \"suspend\": true, \"shutdownAfterJobFinishes\": true",
     .status = RUNNING_ST(""),
     .obs = {.now = T0 + 10},
     .finalizer = true,
     .deploy = "Suspending",
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 0},
    {.name = "waiting_runs_once_the_user_sets_a_job_id",
     .spec = "\"submissionMode\": \"InteractiveMode\", \"jobId\": \"mine\"",
     .status = "{\"jobDeploymentStatus\": \"Waiting\", \"rayClusterName\": \"j-xyzwv\", "
               "\"startTime\": \"" T0_STR "\"}",
     .obs = {.now = T0 + 10},
     .finalizer = true,
     .deploy = "Running",
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 0},
    {.name = "pre_running_deadline_is_retried",
     .spec = K8S ", \"preRunningDeadlineSeconds\": 5, \"backoffLimit\": 1",
     .status = INIT_ST,
     .obs = {.now = T0 + 5},
     .finalizer = true,
     .deploy = "Retrying",
     .reason = "PreRunningDeadlineExceeded",
     .write = true,
     .requeue_s = 3,
     .failed = 1,
     .succeeded = 0,
     .message = "The RayJob has passed the preRunningDeadlineSeconds. StartTime: 2024-01-01 "
                "00:00:00 +0000 UTC. PreRunningDeadlineSeconds: 5"},
    {.name = "terminal_job_not_finalized_within_the_grace_period_completes",
     .spec = K8S,
     .status = RUNNING_ST(", \"jobStatus\": \"SUCCEEDED\", \"rayJobInfo\": {\"endTime\": \"" T0_STR
                          "\"}"),
     .obs = {.now = T0 + 300},
     .finalizer = true,
     .deploy = "Complete",
     .reason = "JobDeploymentStatusTransitionGracePeriodExceeded",
     .write = true,
     .requeue_s = 3,
     .failed = 0,
     .succeeded = 1},
    {.name = "finished_selector_job_keeps_the_cluster",
     .spec = K8S ", \"clusterSelector\": {\"ray.io/cluster\": \"shared\"}",
     .status = "{\"jobDeploymentStatus\": \"Complete\", \"jobStatus\": \"SUCCEEDED\", "
               "\"rayClusterName\": \"shared\", \"endTime\": \"" T0_STR "\"}",
     .obs = {.now = T0 + 100, .cluster_found = true},
     .finalizer = true,
     .deploy = "Complete",
     .failed = -1,
     .succeeded = -1},
    {.name = "validation_failed_is_left_alone",
     .spec = K8S,
     .status = "{\"jobDeploymentStatus\": \"ValidationFailed\"}",
     .obs = {.now = T0},
     .finalizer = true,
     .deploy = "ValidationFailed",
     .requeue_s = 3,
     .failed = -1,
     .succeeded = -1},
};

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v) {
        fprintf(stderr, "bad JSON in test: %s: %s\n", text, jerr.text);
        abort();
    }
    return v;
}

static void run_row(const struct row *r)
{
    char doc_text[4096];
    bool selector = strstr(r->spec, "clusterSelector") != NULL;
    snprintf(doc_text, sizeof(doc_text),
             "{\"metadata\": {\"name\": \"j\", \"namespace\": \"ns\"}, \"spec\": {%s%s%s}, "
             "\"status\": %s}",
             r->spec, selector ? "" : ", ", selector ? "" : CLUSTER_SPEC, r->status);
    json_t *doc = load(doc_text);
    struct rayjob job;
    struct krc_error err = {0};
    if (rayjob_parse(doc, &job, &err)) {
        fprintf(stderr, "%s: %s\n", r->name, err.msg);
        fail();
    }
    json_decref(doc);
    struct raycluster_status cs;
    raycluster_status_init(&cs);
    struct rayjob_sm_obs obs = r->obs;
    if (r->cluster_state) {
        assert_int_equal(raycluster_status_set_str(&cs.state, r->cluster_state), 0);
        obs.cluster_status = &cs;
    }
    struct rayjob_sm_input in = {"j", &job.spec, r->finalizer, r->deleting};
    struct rayjob_sm_config cfg = {.deletion_policy_gate = true};
    struct rayjob_sm_result res;
    assert_int_equal(rayjob_sm_step(&in, &cfg, &job.status, &obs, &res), 0);
    const struct rayjob_status *st = &res.status;
    if (res.need != r->need)
        fail_msg("%s: need %d, want %d", r->name, res.need, r->need);
    if (r->need == RAYJOB_NEED_NOTHING) {
        const char *d = rayjob_deployment_status_str(st->deployment_status);
        if (st->deployment_status == RAYJOB_DS_UNKNOWN)
            d = st->deployment_status_raw;
        if (strcmp(d, r->deploy) != 0)
            fail_msg("%s: jobDeploymentStatus %s, want %s", r->name, d, r->deploy);
        if (r->job_status && strcmp(rayjob_job_status_str(st->job_status), r->job_status) != 0)
            fail_msg("%s: jobStatus %s, want %s", r->name, rayjob_job_status_str(st->job_status),
                     r->job_status);
        if (r->reason && strcmp(st->reason ? st->reason : "", r->reason) != 0)
            fail_msg("%s: reason %s, want %s", r->name, st->reason, r->reason);
        if (res.actions != r->actions)
            fail_msg("%s: actions %#x, want %#x", r->name, res.actions, r->actions);
        if (res.write_status != r->write)
            fail_msg("%s: write %d, want %d", r->name, res.write_status, r->write);
        if (res.error != r->error)
            fail_msg("%s: error %d (%s), want %d", r->name, res.error, res.error_msg, r->error);
        if (!r->error && res.requeue_s != r->requeue_s)
            fail_msg("%s: requeue %lld, want %lld", r->name, (long long)res.requeue_s,
                     (long long)r->requeue_s);
        if (r->failed >= 0 && st->failed.v != r->failed)
            fail_msg("%s: failed %d, want %d", r->name, st->failed.v, r->failed);
        if (r->succeeded >= 0 && st->succeeded.v != r->succeeded)
            fail_msg("%s: succeeded %d, want %d", r->name, st->succeeded.v, r->succeeded);
        if (r->message && (!st->message || !strstr(st->message, r->message)))
            fail_msg("%s: message \"%s\", want it to hold \"%s\"", r->name, st->message,
                     r->message);
        if (res.write_status && rayjob_deployment_status_terminal(st->deployment_status) &&
            rayjob_time_parse(st->end_time) != obs.now)
            fail_msg("%s: endTime %s not set to now", r->name, st->end_time);
    }
    rayjob_sm_result_release(&res);
    raycluster_status_free(&cs);
    rayjob_release(&job);
}

static void test_state_machine_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ROWS) / sizeof(ROWS[0]); i++)
        run_row(&ROWS[i]);
}

static void test_new_uses_spec_job_id_and_selector_cluster_name(void **state)
{
    (void)state;
    json_t *doc = load("{\"metadata\": {\"name\": \"j\", \"namespace\": \"ns\"}, \"spec\": "
                       "{\"jobId\": \"mine\", \"clusterSelector\": {\"ray.io/cluster\": "
                       "\"shared\"}}}");
    struct rayjob job;
    assert_int_equal(rayjob_parse(doc, &job, NULL), 0);
    json_decref(doc);
    struct rayjob_sm_input in = {"j", &job.spec, true, false};
    struct rayjob_sm_obs obs = {.now = T0, .job_suffix = "aaaaa", .cluster_suffix = "bbbbb"};
    struct rayjob_sm_result res;
    assert_int_equal(rayjob_sm_step(&in, NULL, &job.status, &obs, &res), 0);
    assert_string_equal(res.status.job_id, "mine");
    assert_string_equal(res.status.ray_cluster_name, "shared");
    assert_string_equal(res.status.start_time, T0_STR);
    rayjob_sm_result_release(&res);
    rayjob_release(&job);
}

static void test_generated_names_are_prefixed_by_the_rayjob_name(void **state)
{
    (void)state;
    json_t *doc = load("{\"metadata\": {\"name\": \"sample\"}, \"spec\": {" CLUSTER_SPEC "}}");
    struct rayjob job;
    assert_int_equal(rayjob_parse(doc, &job, NULL), 0);
    json_decref(doc);
    struct rayjob_sm_input in = {"sample", &job.spec, false, false};
    struct rayjob_sm_obs obs = {.now = T0, .job_suffix = "aaaaa", .cluster_suffix = "bbbbb"};
    struct rayjob_sm_result res;
    assert_int_equal(rayjob_sm_step(&in, NULL, &job.status, &obs, &res), 0);
    assert_string_equal(res.status.job_id, "sample-aaaaa");
    assert_string_equal(res.status.ray_cluster_name, "sample-bbbbb");
    rayjob_sm_result_release(&res);
    rayjob_release(&job);
}

static void test_times_round_trip(void **state)
{
    (void)state;
    char buf[48];
    assert_int_equal(rayjob_time_parse(T0_STR), T0);
    assert_string_equal(rayjob_time_format(T0, buf, sizeof(buf)), T0_STR);
    assert_string_equal(rayjob_go_time(T0, buf, sizeof(buf)), "2024-01-01 00:00:00 +0000 UTC");
    assert_int_equal(rayjob_time_parse(""), 0);
    assert_int_equal(rayjob_time_parse("garbage"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_machine_table),
        cmocka_unit_test(test_new_uses_spec_job_id_and_selector_cluster_name),
        cmocka_unit_test(test_generated_names_are_prefixed_by_the_rayjob_name),
        cmocka_unit_test(test_times_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
