/* rayjob_validate.c - controller-side RayJob validation (spec §3.3), in KubeRay's order, with
 * KubeRay's messages. The first failing check wins, except in deletionRules where KubeRay
 * collects every error and joins them with newlines.
 *
 * Messages are behaviour (users, Kueue and tests match on them), so they are spelled out here
 * exactly as KubeRay prints them, including the "The RayJob spec is invalid: " prefix on only
 * some of them and the misspelling "shutdownAfterJobFinshes". KubeRay's second pass over
 * deletionRules walks Go maps, whose order is random; here groups are visited in first-appearance
 * order, which is one of the orders KubeRay may print. */
#include "api/rayjob.h"

#include "api/k8s_validation.h"
#include "api/kobj.h"
#include "api/valctx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_INVALID "The RayJob spec is invalid: "

/* --- metadata ------------------------------------------------------------------------------ */

int rayjob_validate_metadata(const struct rayjob *job, struct krc_error *err,
                             struct krc_strbuf *full)
{
    struct valctx v = {err, full};
    const char *name = job->meta.name ? job->meta.name : "";
    if (strlen(name) > RAYJOB_MAX_NAME_LEN)
        return valctx_reject(
            &v,
            "The RayJob metadata is invalid: RayJob name should be no more than %d "
            "characters",
            RAYJOB_MAX_NAME_LEN);
    struct k8sval_errs errs;
    k8sval_errs_init(&errs);
    k8sval_dns1035_label(name, &errs);
    if (errs.n) {
        char buf[K8SVAL_MAX_ERRS * K8SVAL_MSG_MAX];
        return valctx_reject(
            &v,
            "The RayJob metadata is invalid: RayJob name should be a valid DNS1035 "
            "label: %s",
            k8sval_errs_format(&errs, buf, sizeof(buf)));
    }
    return 0;
}

int rayjob_validate_status(const struct rayjob *job, struct krc_error *err)
{
    struct valctx v = {err, NULL};
    if (job->status.deployment_status == RAYJOB_DS_WAITING &&
        job->spec.submission_mode != RAYJOB_MODE_INTERACTIVE)
        return valctx_reject(
            &v, "The RayJob status is invalid: JobDeploymentStatus cannot be `Waiting` "
                "when SubmissionMode is not InteractiveMode");
    return 0;
}

/* --- deletion strategy ---------------------------------------------------------------------- */

static bool deletes_cluster_resources(enum rayjob_deletion_policy p)
{
    return p == RAYJOB_POLICY_DELETE_CLUSTER || p == RAYJOB_POLICY_DELETE_WORKERS;
}

static bool autoscaling(const struct rayjob_spec *s, const struct raycluster *cluster)
{
    return s->has_cluster_spec && raycluster_autoscaling_enabled(cluster);
}

static int validate_legacy(struct valctx *v, const struct rayjob_spec *s,
                           const struct raycluster *cluster)
{
    const struct rayjob_deletion_strategy *d = &s->deletion;
    if (!d->on_success.set || !d->on_failure.set)
        return valctx_reject(
            v, "both DeletionStrategy.OnSuccess and DeletionStrategy.OnFailure must be "
               "set when using the legacy deletion policy fields of DeletionStrategy");
    enum rayjob_deletion_policy ok = d->on_success.policy, bad = d->on_failure.policy;
    if (ok == RAYJOB_POLICY_UNSET)
        return valctx_reject(v,
                             "the DeletionPolicyType field of DeletionStrategy.OnSuccess cannot be "
                             "unset when DeletionStrategy is enabled");
    if (bad == RAYJOB_POLICY_UNSET)
        return valctx_reject(v,
                             "the DeletionPolicyType field of DeletionStrategy.OnFailure cannot be "
                             "unset when DeletionStrategy is enabled");
    if (rayjob_uses_cluster_selector(s)) {
        if (deletes_cluster_resources(ok))
            return valctx_reject(
                v, "the ClusterSelector mode doesn't support DeletionStrategy=%s on success",
                rayjob_deletion_policy_str(ok));
        if (deletes_cluster_resources(bad))
            return valctx_reject(
                v, "the ClusterSelector mode doesn't support DeletionStrategy=%s on failure",
                rayjob_deletion_policy_str(bad));
    }
    if ((ok == RAYJOB_POLICY_DELETE_WORKERS || bad == RAYJOB_POLICY_DELETE_WORKERS) &&
        autoscaling(s, cluster))
        return valctx_reject(v,
                             "DeletionStrategy=DeleteWorkers currently does not support RayCluster "
                             "with autoscaling enabled");
    if (s->shutdown_after_job_finishes &&
        (ok == RAYJOB_POLICY_DELETE_NONE || bad == RAYJOB_POLICY_DELETE_NONE))
        return valctx_reject(v,
                             SPEC_INVALID "shutdownAfterJobFinshes is set to 'true' while deletion "
                                          "policy is 'DeleteNone'");
    return 0;
}

/* One accepted rule in the grouping pass: (kind, value) -> TTL per policy. */
struct rule_group {
    bool deploy; /* jobDeploymentStatus (true) or jobStatus (false) */
    const char *value;
    bool has[RAYJOB_POLICY_UNKNOWN + 1];
    int32_t ttl[RAYJOB_POLICY_UNKNOWN + 1];
};

static struct rule_group *find_group(struct rule_group *g, size_t n, bool deploy, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (g[i].deploy == deploy && strcmp(g[i].value, value) == 0)
            return &g[i];
    return NULL;
}

/* "<err>\n<err>..." as errors.Join prints. */
static int add_err(struct krc_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int add_err(struct krc_strbuf *sb, const char *fmt, ...)
{
    if (sb->len && krc_strbuf_addch(sb, '\n'))
        return KRC_ENOMEM;
    va_list ap;
    va_start(ap, fmt);
    int rc = krc_strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
    return rc;
}

static int ttl_order(struct krc_strbuf *sb, const struct rule_group *g)
{
    static const enum rayjob_deletion_policy order[] = {
        RAYJOB_POLICY_DELETE_WORKERS, RAYJOB_POLICY_DELETE_CLUSTER, RAYJOB_POLICY_DELETE_SELF};
    bool has_prev = false;
    enum rayjob_deletion_policy prev = RAYJOB_POLICY_UNSET;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        enum rayjob_deletion_policy p = order[i];
        if (!g->has[p])
            continue;
        if (has_prev && g->ttl[p] < g->ttl[prev] &&
            add_err(sb, "for %s '%s': %s TTL (%d) must be >= %s TTL (%d)",
                    g->deploy ? "JobDeploymentStatus" : "JobStatus", g->value,
                    rayjob_deletion_policy_str(p), (int)g->ttl[p], rayjob_deletion_policy_str(prev),
                    (int)g->ttl[prev]))
            return KRC_ENOMEM;
        prev = p;
        has_prev = true;
    }
    return 0;
}

static const char *policy_text(const struct rayjob_deletion_rule *r)
{
    return rayjob_deletion_policy_str(r->policy);
}

static int validate_rules(struct valctx *v, const struct rayjob_spec *s,
                          const struct raycluster *cluster)
{
    const struct rayjob_deletion_strategy *d = &s->deletion;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    struct rule_group *groups = calloc(d->n_rules, sizeof(*groups));
    size_t n_groups = 0;
    int rc = 0;
    if (!groups)
        return valctx_oom(v);
    bool selector = rayjob_uses_cluster_selector(s), autoscale = autoscaling(s, cluster);
    for (size_t i = 0; i < d->n_rules && !rc; i++) {
        const struct rayjob_deletion_rule *r = &d->rules[i];
        if (r->job_status_set && r->deployment_status_set) {
            rc = add_err(&sb,
                         "deletionRules[%zu]: cannot set both JobStatus and JobDeploymentStatus at "
                         "the same time",
                         i);
            continue;
        }
        if (!r->job_status_set && !r->deployment_status_set) {
            rc = add_err(&sb,
                         "deletionRules[%zu]: exactly one of JobStatus and JobDeploymentStatus "
                         "must be set",
                         i);
            continue;
        }
        if (r->ttl_seconds < 0) {
            rc = add_err(&sb, "deletionRules[%zu]: TTLSeconds must be non-negative", i);
            continue;
        }
        if (selector && deletes_cluster_resources(r->policy)) {
            rc = add_err(&sb,
                         "deletionRules[%zu]: DeletionPolicyType '%s' not supported when "
                         "ClusterSelector is set",
                         i, policy_text(r));
            continue;
        }
        if (autoscale && r->policy == RAYJOB_POLICY_DELETE_WORKERS) {
            rc = add_err(&sb,
                         "deletionRules[%zu]: DeletionPolicyType 'DeleteWorkers' not supported "
                         "with autoscaling enabled",
                         i);
            continue;
        }
        bool deploy = r->deployment_status_set;
        const char *value = r->condition_value ? r->condition_value : "";
        struct rule_group *g = find_group(groups, n_groups, deploy, value);
        if (!g) {
            g = &groups[n_groups++];
            g->deploy = deploy;
            g->value = value;
        }
        if (g->has[r->policy]) {
            rc = add_err(
                &sb, "deletionRules[%zu]: duplicate rule for DeletionPolicyType '%s' and %s '%s'",
                i, policy_text(r), deploy ? "JobDeploymentStatus" : "JobStatus", value);
            continue;
        }
        g->has[r->policy] = true;
        g->ttl[r->policy] = r->ttl_seconds;
    }
    /* All jobStatus groups first, then the jobDeploymentStatus ones, as KubeRay's two loops. */
    for (int pass = 0; pass < 2 && !rc; pass++)
        for (size_t i = 0; i < n_groups && !rc; i++)
            if (groups[i].deploy == (pass == 1))
                rc = ttl_order(&sb, &groups[i]);
    if (rc)
        rc = valctx_oom(v);
    else if (sb.len)
        rc = valctx_reject_text(v, sb.buf, sb.len);
    free(groups);
    krc_strbuf_release(&sb);
    return rc;
}

static int validate_deletion(struct valctx *v, const struct rayjob_spec *s,
                             const struct raycluster *cluster, const struct raycluster_gates *g)
{
    const struct rayjob_deletion_strategy *d = &s->deletion;
    if (!s->shutdown_after_job_finishes && s->ttl_seconds_after_finished > 0)
        return valctx_reject(v, SPEC_INVALID
                             "a RayJob with shutdownAfterJobFinishes set to false cannot "
                             "have TTLSecondsAfterFinished");
    if (!d->set)
        return 0;
    if (!g->job_deletion_policy)
        return valctx_reject(v, "RayJobDeletionPolicy feature gate must be enabled to use "
                                "DeletionStrategy");
    bool legacy = d->on_success.set || d->on_failure.set;
    bool rules = d->n_rules > 0;
    if (rules && s->shutdown_after_job_finishes)
        return valctx_reject(v, SPEC_INVALID
                             "spec.shutdownAfterJobFinishes and "
                             "spec.deletionStrategy.deletionRules are mutually exclusive");
    if (rules && legacy)
        return valctx_reject(v,
                             SPEC_INVALID "Cannot use both legacy onSuccess/onFailure fields and "
                                          "deletionRules simultaneously");
    if (legacy)
        return validate_legacy(v, s, cluster);
    if (rules)
        return validate_rules(v, s, cluster);
    return valctx_reject(v, SPEC_INVALID
                         "DeletionStrategy requires either BOTH onSuccess and onFailure, "
                         "OR the deletionRules field (cannot be empty)");
}

/* --- spec ----------------------------------------------------------------------------------- */

static const char *head_restart_policy(const struct raycluster *cluster)
{
    const char *p = kobj_str(kobj_obj(cluster->spec.head.template, "spec"), "restartPolicy");
    return p ? p : "";
}

/* ValidateRayClusterSpec's error, prefixed as KubeRay wraps it. */
static int validate_cluster(struct valctx *v, const struct raycluster *cluster,
                            const struct raycluster_gates *g)
{
    struct krc_error cerr;
    struct krc_strbuf cfull = KRC_STRBUF_INIT;
    krc_error_clear(&cerr);
    int rc = raycluster_validate_spec(cluster, g, &cerr, &cfull);
    if (rc == KRC_EINVAL)
        rc = valctx_reject(v, SPEC_INVALID "%s", cfull.len ? cfull.buf : cerr.msg);
    else if (rc)
        rc = valctx_oom(v);
    krc_strbuf_release(&cfull);
    return rc;
}

int rayjob_validate_spec_only(const struct rayjob_spec *s, const struct raycluster *cluster,
                              const struct raycluster_gates *g, struct krc_error *err,
                              struct krc_strbuf *full)
{
    struct valctx v = {err, full};
    int rc;
    if (s->suspend && !s->shutdown_after_job_finishes)
        return valctx_reject(&v,
                             SPEC_INVALID "a RayJob with shutdownAfterJobFinishes set to false is "
                                          "not allowed to be suspended");
    if (s->ttl_seconds_after_finished < 0)
        return valctx_reject(&v,
                             SPEC_INVALID "TTLSecondsAfterFinished must be a non-negative integer");
    if ((rc = validate_deletion(&v, s, cluster, g)))
        return rc;
    bool selector = rayjob_uses_cluster_selector(s);
    if (s->suspend && selector)
        return valctx_reject(&v,
                             SPEC_INVALID "the ClusterSelector mode doesn't support the suspend "
                                          "operation");
    if (!s->has_cluster_spec && !selector)
        return valctx_reject(&v,
                             SPEC_INVALID "one of RayClusterSpec or ClusterSelector must be set");
    int32_t backoff = rayjob_backoff_limit(s);
    if (selector) {
        const char *name = rayjob_selector_cluster_name(s);
        if (!name || !*name)
            return valctx_reject(&v, "cluster name in ClusterSelector should not be empty");
        if (s->submission_mode == RAYJOB_MODE_SIDECAR)
            return valctx_reject(&v, "ClusterSelector is not supported in SidecarMode");
        if (backoff > 0)
            return valctx_reject(&v, SPEC_INVALID
                                 "BackoffLimit is incompatible with ClusterSelector mode");
    }
    if (s->submission_mode == RAYJOB_MODE_INTERACTIVE && backoff > 0)
        return valctx_reject(&v, SPEC_INVALID "BackoffLimit is incompatible with InteractiveMode");
    if (s->submission_mode == RAYJOB_MODE_SIDECAR) {
        if (s->submitter_pod_template)
            return valctx_reject(&v, "Currently, SidecarMode doesn't support SubmitterPodTemplate");
        if (s->submitter_config_set)
            return valctx_reject(&v, "Currently, SidecarMode doesn't support SubmitterConfig");
        /* KubeRay dereferences RayClusterSpec here; it is non-nil because SidecarMode with a
         * selector was rejected above and one of the two must be set. */
        const char *policy = s->has_cluster_spec ? head_restart_policy(cluster) : "";
        if (*policy && strcmp(policy, "Never") != 0)
            return valctx_reject(&v,
                                 "restartPolicy for head Pod should be Never or unset when using "
                                 "SidecarMode");
    }
    if (s->has_cluster_spec) {
        if (raycluster_k8s_auth_enabled(cluster))
            return valctx_reject(&v,
                                 SPEC_INVALID "K8s token auth mode is currently not supported for "
                                              "RayJob");
        if ((rc = validate_cluster(&v, cluster, g)))
            return rc;
    }
    struct krc_error yerr;
    struct krc_strbuf yfull = KRC_STRBUF_INIT;
    json_t *env = NULL;
    krc_error_clear(&yerr);
    rc = rayjob_runtime_env_json(s->runtime_env_yaml, &env, &yerr, &yfull);
    json_decref(env);
    if (rc == KRC_EINVAL)
        rc = valctx_reject_text(&v, yfull.len ? yfull.buf : yerr.msg,
                                yfull.len ? yfull.len : strlen(yerr.msg));
    else if (rc)
        rc = valctx_oom(&v);
    krc_strbuf_release(&yfull);
    if (rc)
        return rc;
    if (s->active_deadline_seconds.set && s->active_deadline_seconds.v <= 0)
        return valctx_reject(&v, SPEC_INVALID "activeDeadlineSeconds must be a positive integer");
    if (s->pre_running_deadline_seconds.set && s->pre_running_deadline_seconds.v <= 0)
        return valctx_reject(&v,
                             SPEC_INVALID "preRunningDeadlineSeconds must be a positive integer");
    if (s->backoff_limit.set && s->backoff_limit.v < 0)
        return valctx_reject(&v, SPEC_INVALID "backoffLimit must be a positive integer");
    return 0;
}

int rayjob_validate_spec(const struct rayjob *job, const struct raycluster_gates *g,
                         struct krc_error *err, struct krc_strbuf *full)
{
    return rayjob_validate_spec_only(&job->spec, &job->cluster, g, err, full);
}
