/* rayjob_state.c - the RayJob state machine (see rayjob_state.h for the contract and the two
 * KubeRay quirks fixed here). One function per jobDeploymentStatus, each ending either early
 * (a silent requeue, an error requeue, a stop) or in the common tail of §4.1 step 6 / §5.9.
 *
 * _GNU_SOURCE for timegm(). */
#define _GNU_SOURCE
#include "controller/rayjob_state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t rayjob_time_parse(const char *s)
{
    struct tm tm = {0};
    if (!s || !*s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return (int64_t)timegm(&tm);
}

enum time_style { TIME_RFC3339, TIME_GO, TIME_SHORT };

static const char *format_tm(int64_t t, enum time_style style, char *buf, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;
    size_t n = 0;
    if (gmtime_r(&tt, &tm)) {
        if (style == TIME_RFC3339)
            n = strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
        else if (style == TIME_GO)
            n = strftime(buf, size, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
        else
            n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
    }
    if (!n)
        snprintf(buf, size, "%lld", (long long)t);
    return buf;
}

const char *rayjob_time_format(int64_t t, char *buf, size_t size)
{
    return format_tm(t, TIME_RFC3339, buf, size);
}

const char *rayjob_go_time(int64_t t, char *buf, size_t size)
{
    return format_tm(t, TIME_GO, buf, size);
}

int rayjob_policy_impact(enum rayjob_deletion_policy p)
{
    switch (p) {
    case RAYJOB_POLICY_DELETE_SELF:
        return 4;
    case RAYJOB_POLICY_DELETE_CLUSTER:
        return 3;
    case RAYJOB_POLICY_DELETE_WORKERS:
        return 2;
    case RAYJOB_POLICY_DELETE_NONE:
        return 1;
    default:
        return 0;
    }
}

/* ---- the step --------------------------------------------------------------------------- */

struct step {
    const struct rayjob_sm_input *in;
    const struct rayjob_spec *spec;
    const struct rayjob_sm_config *cfg;
    const struct rayjob_status *old;
    const struct rayjob_sm_obs *obs;
    struct rayjob_sm_result *out;
    struct rayjob_status *st; /* &out->status */
    int oom;
};

static void set_str(struct step *s, char **field, const char *value)
{
    if (rayjob_status_set_str(field, value))
        s->oom = 1;
}

static void set_time(struct step *s, char **field, int64_t t)
{
    char buf[40];
    set_str(s, field, t ? rayjob_time_format(t, buf, sizeof(buf)) : "");
}

static void message(struct step *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void message(struct step *s, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    set_str(s, &s->st->message, buf);
}

static void deploy(struct step *s, enum rayjob_deployment_status d)
{
    s->st->deployment_status = d;
    set_str(s, &s->st->deployment_status_raw, "");
}

static void job_status(struct step *s, const char *ray)
{
    s->st->job_status = rayjob_job_status_parse(ray);
    set_str(s, &s->st->job_status_raw, s->st->job_status == RAYJOB_JS_UNKNOWN ? ray : "");
}

static void fail(struct step *s, const char *reason)
{
    deploy(s, RAYJOB_DS_FAILED);
    set_str(s, &s->st->reason, reason);
}

static void copy_cluster_status(struct step *s)
{
    struct raycluster_status empty;
    raycluster_status_init(&empty);
    raycluster_status_free(&s->st->ray_cluster_status);
    if (raycluster_status_copy(s->obs->cluster_status ? s->obs->cluster_status : &empty,
                               &s->st->ray_cluster_status))
        s->oom = 1;
    raycluster_status_free(&empty);
}

static void requeue(struct step *s)
{
    s->out->requeue_s = RAYJOB_DEFAULT_REQUEUE_S;
}

static void error_requeue(struct step *s, const char *msg)
{
    s->out->error = true;
    snprintf(s->out->error_msg, sizeof(s->out->error_msg), "%s", msg);
}

static bool uses_submitter(enum rayjob_submission_mode m)
{
    return m == RAYJOB_MODE_K8S_JOB || m == RAYJOB_MODE_SIDECAR;
}

static bool is_empty(const char *s)
{
    return !s || !*s;
}

static int64_t status_check_timeout(const struct rayjob_sm_config *c)
{
    return c->status_check_s > 0 ? c->status_check_s : RAYJOB_DEFAULT_STATUS_CHECK_S;
}

static int64_t grace_period(const struct rayjob_sm_config *c)
{
    return c->grace_period_set ? c->grace_period_s : RAYJOB_DEFAULT_GRACE_PERIOD_S;
}

/* §5.9 and §4.3: counters, retry, the write decision, endTime, the duration metric. */
static void tail(struct step *s)
{
    struct rayjob_status *st = s->st;
    bool failed = st->deployment_status == RAYJOB_DS_FAILED;
    st->failed.set = st->succeeded.set = true;
    if (failed)
        st->failed.v++;
    if (st->deployment_status == RAYJOB_DS_COMPLETE && st->job_status == RAYJOB_JS_SUCCEEDED)
        st->succeeded.v++;
    const struct rc_opt_i32 *bl = &s->spec->backoff_limit;
    const char *reason = st->reason ? st->reason : "";
    if (failed && bl->set && st->failed.v < bl->v + 1 &&
        strcmp(reason, RAYJOB_REASON_DEADLINE_EXCEEDED) != 0 &&
        strcmp(reason, RAYJOB_REASON_STATUS_CHECK_TIMEOUT_EXCEEDED) != 0)
        deploy(s, RAYJOB_DS_RETRYING);
    s->out->write_status = rayjob_status_differs_for_write(s->old, st);
    if (s->out->write_status && rayjob_deployment_status_terminal(st->deployment_status))
        set_time(s, &st->end_time, s->obs->now);
    s->out->record_duration = s->out->write_status &&
                              !rayjob_deployment_status_terminal(s->old->deployment_status) &&
                              (rayjob_deployment_status_terminal(st->deployment_status) ||
                               st->deployment_status == RAYJOB_DS_RETRYING);
    requeue(s);
}

static bool deadline_passed(struct step *s, const struct rc_opt_i32 *d, const char *reason,
                            const char *what)
{
    int64_t start = rayjob_time_parse(s->st->start_time);
    char t[48];
    if (!d->set || s->obs->now < start + d->v)
        return false;
    fail(s, reason);
    message(s, "The RayJob has passed the %s. StartTime: %s. %c%s: %d", what,
            rayjob_go_time(start, t, sizeof(t)), what[0] - 'a' + 'A', what + 1, d->v);
    return true;
}

static bool active_deadline_passed(struct step *s)
{
    return deadline_passed(s, &s->spec->active_deadline_seconds, RAYJOB_REASON_DEADLINE_EXCEEDED,
                           "activeDeadlineSeconds");
}

static bool pre_running_deadline_passed(struct step *s)
{
    return deadline_passed(s, &s->spec->pre_running_deadline_seconds,
                           RAYJOB_REASON_PRE_RUNNING_DEADLINE_EXCEEDED,
                           "preRunningDeadlineSeconds");
}

/* Get-or-create of §6.2. False when the reconcile ends in an error requeue. */
static bool cluster_get_or_create(struct step *s)
{
    if (s->obs->cluster_found)
        return true;
    if (rayjob_uses_cluster_selector(s->spec)) {
        s->out->actions |= RAYJOB_ACT_CLUSTER_NOT_FOUND;
        error_requeue(s, "the RayCluster set in the clusterSelector is not found");
        return false;
    }
    s->out->actions |= RAYJOB_ACT_CREATE_CLUSTER;
    return true;
}

/* ---- states ----------------------------------------------------------------------------- */

static void state_new(struct step *s)
{
    struct rayjob_status *st = s->st;
    const struct rayjob_spec *sp = s->spec;
    char buf[512];
    if (!s->in->has_finalizer)
        s->out->actions |= RAYJOB_ACT_ADD_FINALIZER;
    if (!is_empty(st->job_id) && !is_empty(st->ray_cluster_name) &&
        st->job_status != RAYJOB_JS_NEW) {
        tail(s);
        return;
    }
    if (sp->submission_mode != RAYJOB_MODE_INTERACTIVE && is_empty(st->job_id)) {
        if (!is_empty(sp->job_id))
            set_str(s, &st->job_id, sp->job_id);
        else {
            snprintf(buf, sizeof(buf), "%s-%s", s->in->name, s->obs->job_suffix);
            set_str(s, &st->job_id, buf);
        }
    }
    if (is_empty(st->ray_cluster_name)) {
        if (rayjob_uses_cluster_selector(sp)) {
            const char *c = rayjob_selector_cluster_name(sp);
            set_str(s, &st->ray_cluster_name, c ? c : "");
        } else {
            snprintf(buf, sizeof(buf), "%s-%s", s->in->name, s->obs->cluster_suffix);
            set_str(s, &st->ray_cluster_name, buf);
        }
    }
    job_status(s, "");
    deploy(s, RAYJOB_DS_INITIALIZING);
    set_time(s, &st->start_time, s->obs->now);
    tail(s);
}

static void state_initializing(struct step *s)
{
    const struct rayjob_sm_obs *o = s->obs;
    struct rayjob_status *st = s->st;
    if (s->spec->suspend) {
        deploy(s, RAYJOB_DS_SUSPENDING);
        tail(s);
        return;
    }
    if (active_deadline_passed(s) || pre_running_deadline_passed(s)) {
        tail(s);
        return;
    }
    if (!cluster_get_or_create(s))
        return;
    if (is_empty(st->dashboard_url)) {
        const char *state = o->cluster_found && o->cluster_status ? o->cluster_status->state : NULL;
        if (!state || strcmp(state, RAYCLUSTER_STATE_READY) != 0) {
            copy_cluster_status(s); /* a cluster created just now has an empty status */
            tail(s);
            return;
        }
        if (is_empty(o->dashboard_url)) {
            error_requeue(s, "dashboard port is not found");
            return;
        }
        set_str(s, &st->dashboard_url, o->dashboard_url);
    }
    if (s->spec->submission_mode == RAYJOB_MODE_INTERACTIVE) {
        deploy(s, RAYJOB_DS_WAITING);
        tail(s);
        return;
    }
    if (s->spec->submission_mode == RAYJOB_MODE_K8S_JOB && !o->submitter_found)
        s->out->actions |= RAYJOB_ACT_CREATE_SUBMITTER;
    deploy(s, RAYJOB_DS_RUNNING);
    tail(s);
}

static void state_waiting(struct step *s)
{
    if (pre_running_deadline_passed(s)) {
        tail(s);
        return;
    }
    if (is_empty(s->spec->job_id)) {
        requeue(s);
        return;
    }
    set_str(s, &s->st->job_id, s->spec->job_id);
    deploy(s, RAYJOB_DS_RUNNING);
    tail(s);
}

/* The submitter of K8sJobMode / SidecarMode (§8.1.4, §8.3.3). */
struct submitter {
    bool failed;
    const char *reason; /* SubmissionFailed or AppFailed when failed */
    char msg[768];
    int64_t finished_at; /* 0 = still running */
};

/* False when the reconcile ends here (error requeue, or the head pod is gone). */
static bool inspect_submitter(struct step *s, struct submitter *sub)
{
    const struct rayjob_sm_obs *o = s->obs;
    bool job_failed = s->st->job_status == RAYJOB_JS_FAILED;
    memset(sub, 0, sizeof(*sub));
    if (s->spec->submission_mode == RAYJOB_MODE_K8S_JOB) {
        if (!o->submitter_found) {
            error_requeue(s, "the submitter Job is not found");
            return false;
        }
        if (o->submitter_failed) {
            sub->failed = true;
            sub->reason = job_failed ? RAYJOB_REASON_APP_FAILED : RAYJOB_REASON_SUBMISSION_FAILED;
            snprintf(sub->msg, sizeof(sub->msg),
                     "Job submission has failed. Reason: %s. Message: %s",
                     o->submitter_fail_reason ? o->submitter_fail_reason : "",
                     o->submitter_fail_message ? o->submitter_fail_message : "");
        }
        if (o->submitter_failed || o->submitter_complete)
            sub->finished_at = o->submitter_finished_at;
        return true;
    }
    if (!o->head_pod_found) {
        fail(s, RAYJOB_REASON_APP_FAILED);
        message(s, "Ray head pod not found.");
        tail(s);
        return false;
    }
    if (o->sidecar_terminated) {
        sub->finished_at = o->sidecar_finished_at;
        if (o->sidecar_exit_code != 0) {
            sub->failed = true;
            sub->reason = job_failed ? RAYJOB_REASON_APP_FAILED : RAYJOB_REASON_SUBMISSION_FAILED;
            snprintf(sub->msg, sizeof(sub->msg),
                     "Ray head pod container ray-job-submitter terminated with exit code %d: %s",
                     o->sidecar_exit_code, o->sidecar_reason ? o->sidecar_reason : "");
        }
    }
    return true;
}

static void running_info_ok(struct step *s, const struct submitter *sub)
{
    const struct rayjob_sm_obs *o = s->obs;
    struct rayjob_status *st = s->st;
    const char *ray = o->info_status ? o->info_status : "";
    bool finished = sub->finished_at != 0;
    bool terminal = rayjob_job_status_terminal(rayjob_job_status_parse(ray)) &&
                    (!uses_submitter(s->spec->submission_mode) || finished);
    set_str(s, &st->job_status_check_failure_start_time, "");
    job_status(s, ray);
    set_str(s, &st->reason, "");
    if (!terminal)
        deploy(s, RAYJOB_DS_RUNNING);
    else if (st->job_status == RAYJOB_JS_FAILED)
        fail(s, RAYJOB_REASON_APP_FAILED);
    else
        deploy(s, RAYJOB_DS_COMPLETE);
    set_str(s, &st->message, o->info_message ? o->info_message : "");
    copy_cluster_status(s);
    if (o->info_start_ms > 0)
        set_time(s, &st->ray_job_info.start_time, o->info_start_ms / 1000);
    if (o->info_end_ms > 0)
        set_time(s, &st->ray_job_info.end_time, o->info_end_ms / 1000);
    tail(s);
}

static void running_not_found(struct step *s, const struct submitter *sub)
{
    const struct rayjob_sm_obs *o = s->obs;
    struct rayjob_status *st = s->st;
    bool timer = !is_empty(st->job_status_check_failure_start_time);
    if (s->spec->submission_mode == RAYJOB_MODE_HTTP) {
        if (o->submit == RAYJOB_SUBMIT_NOT_TRIED) {
            s->out->need = RAYJOB_NEED_SUBMIT;
        } else if (o->submit == RAYJOB_SUBMIT_ERROR && !timer) {
            set_time(s, &st->job_status_check_failure_start_time, o->now);
            tail(s);
        } else if (o->submit == RAYJOB_SUBMIT_OK && timer) {
            set_str(s, &st->job_status_check_failure_start_time, "");
            tail(s);
        } else {
            requeue(s);
        }
        return;
    }
    if (uses_submitter(s->spec->submission_mode) && sub->finished_at) {
        if (sub->failed) {
            fail(s, sub->reason);
            message(s, "%s", sub->msg);
        } else {
            fail(s, RAYJOB_REASON_APP_FAILED);
            message(s, "Submitter completed but Ray job not found in RayCluster.");
        }
        tail(s);
        return;
    }
    requeue(s); /* the submitter has not submitted yet, or InteractiveMode: wait */
}

static void running_info_error(struct step *s, const struct submitter *sub)
{
    const struct rayjob_sm_obs *o = s->obs;
    struct rayjob_status *st = s->st;
    char t[48];
    if (sub->finished_at && o->now >= sub->finished_at + RAYJOB_SUBMITTER_FINISHED_GRACE_S) {
        if (sub->failed) {
            fail(s, sub->reason);
            message(s, "%s", sub->msg);
        } else {
            job_status(s, rayjob_job_status_str(RAYJOB_JS_FAILED));
            fail(s, RAYJOB_REASON_TRANSITION_GRACE_PERIOD_EXCEEDED);
            message(s,
                    "The RayJob submitter finished at %s but the ray job did not reach terminal "
                    "state within %ds",
                    format_tm(sub->finished_at, TIME_SHORT, t, sizeof(t)),
                    RAYJOB_SUBMITTER_FINISHED_GRACE_S);
        }
        tail(s);
        return;
    }
    if (is_empty(st->job_status_check_failure_start_time)) {
        set_time(s, &st->job_status_check_failure_start_time, o->now);
        tail(s);
        return;
    }
    requeue(s);
}

static void state_running(struct step *s)
{
    const struct rayjob_spec *sp = s->spec;
    const struct rayjob_sm_obs *o = s->obs;
    struct rayjob_status *st = s->st;
    struct submitter sub = {0};
    int64_t info_end = rayjob_time_parse(st->ray_job_info.end_time);
    int64_t check_start = rayjob_time_parse(st->job_status_check_failure_start_time);
    char t[48];
    if (sp->suspend) {
        deploy(s, RAYJOB_DS_SUSPENDING);
        tail(s);
        return;
    }
    if (active_deadline_passed(s)) {
        tail(s);
        return;
    }
    if (rayjob_job_status_terminal(st->job_status) && info_end &&
        o->now >= info_end + grace_period(s->cfg)) {
        if (st->job_status == RAYJOB_JS_FAILED)
            fail(s, RAYJOB_REASON_TRANSITION_GRACE_PERIOD_EXCEEDED);
        else {
            deploy(s, RAYJOB_DS_COMPLETE);
            set_str(s, &st->reason, RAYJOB_REASON_TRANSITION_GRACE_PERIOD_EXCEEDED);
        }
        message(s, "JobDeploymentStatus does not transition to Complete or Failed within the "
                   "grace period after JobStatus reaches a terminal state.");
        tail(s);
        return;
    }
    if (check_start && o->now >= check_start + status_check_timeout(s->cfg)) {
        fail(s, RAYJOB_REASON_STATUS_CHECK_TIMEOUT_EXCEEDED);
        message(s, "Job status checks have been failing since %s; exceeded timeout of %llds",
                format_tm(check_start, TIME_SHORT, t, sizeof(t)),
                (long long)status_check_timeout(s->cfg));
        tail(s);
        return;
    }
    if (!cluster_get_or_create(s))
        return;
    if (!rayjob_uses_cluster_selector(sp))
        s->out->actions |= RAYJOB_ACT_ENSURE_HEAD_SERVICE;
    if (uses_submitter(sp->submission_mode) && !inspect_submitter(s, &sub))
        return;
    /* Fixed quirk: the dashboard is asked before the submitter-finished timer is consulted. */
    switch (o->info) {
    case RAYJOB_INFO_NOT_QUERIED:
        s->out->need = RAYJOB_NEED_JOB_INFO;
        return;
    case RAYJOB_INFO_OK:
        running_info_ok(s, &sub);
        return;
    case RAYJOB_INFO_NOT_FOUND:
        running_not_found(s, &sub);
        return;
    default:
        running_info_error(s, &sub);
        return;
    }
}

/* Suspending and Retrying (§5.6). */
static void state_cleanup(struct step *s, enum rayjob_deployment_status next)
{
    const struct rayjob_sm_obs *o = s->obs;
    struct rayjob_status *st = s->st;
    enum rayjob_submission_mode m = s->spec->submission_mode;
    bool pending = false;
    if (!rayjob_uses_cluster_selector(s->spec) && o->cluster_found) {
        if (!o->cluster_deleting)
            s->out->actions |= RAYJOB_ACT_DELETE_CLUSTER;
        pending = true;
    }
    if (m != RAYJOB_MODE_HTTP && m != RAYJOB_MODE_SIDECAR && o->submitter_found) {
        if (!o->submitter_deleting)
            s->out->actions |= RAYJOB_ACT_DELETE_SUBMITTER;
        pending = true;
    }
    if (pending) {
        requeue(s);
        return;
    }
    raycluster_status_free(&st->ray_cluster_status);
    raycluster_status_init(&st->ray_cluster_status);
    char **reset[] = {&st->ray_cluster_name,
                      &st->dashboard_url,
                      &st->job_id,
                      &st->message,
                      &st->reason,
                      &st->ray_job_info.start_time,
                      &st->ray_job_info.end_time,
                      &st->job_status_check_failure_start_time};
    for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
        set_str(s, reset[i], "");
    job_status(s, "");
    deploy(s, next);
    tail(s);
}

static void state_suspended(struct step *s)
{
    if (s->spec->suspend)
        return; /* stop, no requeue */
    job_status(s, "");
    deploy(s, RAYJOB_DS_NEW);
    tail(s);
}

static bool policy_done(const struct rayjob_sm_obs *o, enum rayjob_deletion_policy p)
{
    switch (p) {
    case RAYJOB_POLICY_DELETE_CLUSTER:
        return !o->cluster_found || o->cluster_deleting;
    case RAYJOB_POLICY_DELETE_WORKERS:
        return !o->cluster_found || o->cluster_deleting || o->cluster_workers_suspended;
    case RAYJOB_POLICY_DELETE_SELF:
        return false;
    default:
        return true;
    }
}

static void execute_policy(struct step *s, enum rayjob_deletion_policy p)
{
    switch (p) {
    case RAYJOB_POLICY_DELETE_CLUSTER:
        if (s->obs->cluster_found && !s->obs->cluster_deleting)
            s->out->actions |= RAYJOB_ACT_DELETE_CLUSTER;
        break;
    case RAYJOB_POLICY_DELETE_WORKERS:
        if (s->obs->cluster_found)
            s->out->actions |= RAYJOB_ACT_SUSPEND_WORKERS;
        else
            error_requeue(s, "the RayCluster whose workers to suspend is not found");
        break;
    case RAYJOB_POLICY_DELETE_SELF:
        s->out->actions |= RAYJOB_ACT_DELETE_SELF;
        break;
    default:
        break;
    }
}

static bool rule_matches(const struct rayjob_deletion_rule *r, const struct rayjob_status *st)
{
    return (r->job_status_set && r->job_status == st->job_status) ||
           (r->deployment_status_set && r->deployment_status == st->deployment_status);
}

static void requeue_at(struct step *s, int64_t due)
{
    s->out->requeue_s = due - s->obs->now + RAYJOB_TTL_SLACK_S;
}

/* Complete and Failed (§5.10): no status write, at most one deletion per reconcile. */
static void state_finished(struct step *s)
{
    const struct rayjob_spec *sp = s->spec;
    const struct rayjob_status *st = s->st;
    const struct rayjob_deletion_strategy *ds = &sp->deletion;
    int64_t now = s->obs->now, end = rayjob_time_parse(st->end_time);
    if (rayjob_uses_cluster_selector(sp))
        return;
    if (s->cfg->deletion_policy_gate && ds->set && ds->n_rules > 0) {
        int64_t earliest = 0;
        const struct rayjob_deletion_rule *best = NULL;
        for (size_t i = 0; i < ds->n_rules; i++) {
            const struct rayjob_deletion_rule *r = &ds->rules[i];
            if (!rule_matches(r, st))
                continue;
            int64_t due = end + r->ttl_seconds;
            if (due > now) {
                if (!earliest || due < earliest)
                    earliest = due;
            } else if (!policy_done(s->obs, r->policy) &&
                       (!best ||
                        rayjob_policy_impact(r->policy) > rayjob_policy_impact(best->policy))) {
                best = r;
            }
        }
        if (best)
            execute_policy(s, best->policy);
        if (earliest)
            requeue_at(s, earliest);
        return;
    }
    if (s->cfg->deletion_policy_gate && ds->set) {
        enum rayjob_deletion_policy p = RAYJOB_POLICY_UNSET;
        if (st->job_status == RAYJOB_JS_SUCCEEDED)
            p = ds->on_success.policy;
        else if (st->job_status == RAYJOB_JS_FAILED)
            p = ds->on_failure.policy;
        if (p == RAYJOB_POLICY_UNSET || p == RAYJOB_POLICY_DELETE_NONE)
            return;
        int64_t due = end + sp->ttl_seconds_after_finished;
        if (due > now)
            requeue_at(s, due);
        else
            execute_policy(s, p);
        return;
    }
    if (!sp->shutdown_after_job_finishes)
        return;
    int64_t due = end + sp->ttl_seconds_after_finished;
    if (due > now)
        requeue_at(s, due);
    else if (s->cfg->delete_rayjob_after_finish)
        s->out->actions |= RAYJOB_ACT_DELETE_SELF;
    else if (s->obs->cluster_found && !s->obs->cluster_deleting)
        s->out->actions |= RAYJOB_ACT_DELETE_CLUSTER;
}

static void state_deleting(struct step *s)
{
    if (!rayjob_job_status_terminal(s->st->job_status) && !is_empty(s->st->job_id))
        s->out->actions |= RAYJOB_ACT_STOP_JOB;
    if (s->in->has_finalizer)
        s->out->actions |= RAYJOB_ACT_REMOVE_FINALIZER;
    requeue(s);
}

int rayjob_sm_step(const struct rayjob_sm_input *in, const struct rayjob_sm_config *cfg,
                   const struct rayjob_status *old, const struct rayjob_sm_obs *obs,
                   struct rayjob_sm_result *out)
{
    static const struct rayjob_sm_config defaults = {.deletion_policy_gate = true};
    memset(out, 0, sizeof(*out));
    if (rayjob_status_copy(old, &out->status)) {
        rayjob_status_init(&out->status);
        return KRC_ENOMEM;
    }
    struct step s = {in, in->spec, cfg ? cfg : &defaults, old, obs, out, &out->status, 0};
    if (in->deleting) {
        state_deleting(&s);
    } else {
        switch (old->deployment_status) {
        case RAYJOB_DS_NEW:
            state_new(&s);
            break;
        case RAYJOB_DS_INITIALIZING:
            state_initializing(&s);
            break;
        case RAYJOB_DS_WAITING:
            state_waiting(&s);
            break;
        case RAYJOB_DS_RUNNING:
            state_running(&s);
            break;
        case RAYJOB_DS_SUSPENDING:
            state_cleanup(&s, RAYJOB_DS_SUSPENDED);
            break;
        case RAYJOB_DS_RETRYING:
            state_cleanup(&s, RAYJOB_DS_NEW);
            break;
        case RAYJOB_DS_SUSPENDED:
            state_suspended(&s);
            break;
        case RAYJOB_DS_COMPLETE:
        case RAYJOB_DS_FAILED:
            state_finished(&s);
            break;
        default: /* ValidationFailed or unknown: §4.1 step 5 */
            out->unknown_state = true;
            requeue(&s);
            break;
        }
    }
    return s.oom ? KRC_ENOMEM : 0;
}

void rayjob_sm_result_release(struct rayjob_sm_result *r)
{
    rayjob_status_free(&r->status);
}
