/* rayservice_parse.c - JSON -> struct rayservice (see rayservice.h for the borrowing design) and
 * the derived values the controller reads.
 *
 * Fields are read through json_field.h's typed getters, so an error names the field
 * ("RayService default/x: spec.rayClusterDeletionDelaySeconds: expected an int32, got a string").
 * spec.rayClusterConfig goes to raycluster_parse() inside a synthetic RayCluster document, as
 * rayjob_parse.c does for rayClusterSpec; its error paths are rewritten from "spec." to
 * "spec.rayClusterConfig.". */
#include "api/rayservice.h"

#include "api/json_field.h"
#include "api/kobj.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int parse_cluster(const struct json_field_ctx *c, json_t *cluster_spec, json_t *annotations,
                         struct raycluster *out)
{
    json_t *doc = json_object(), *meta = json_object();
    int rc = 0;
    if (!doc || !meta || json_object_set_new(doc, "metadata", meta)) {
        if (!doc)
            json_decref(meta);
        json_decref(doc);
        return json_field_oom(c);
    }
    if (kobj_set_str(meta, "name", c->name) || kobj_set_str(meta, "namespace", c->ns) ||
        (annotations && json_object_set(meta, "annotations", annotations)) ||
        json_object_set(doc, "spec", cluster_spec)) {
        rc = json_field_oom(c);
        goto out;
    }
    struct krc_error cerr;
    krc_error_clear(&cerr);
    rc = raycluster_parse(doc, out, &cerr);
    if (rc == KRC_ENOMEM) {
        rc = json_field_oom(c);
    } else if (rc) {
        char prefix[KRC_ERROR_MSG_MAX];
        snprintf(prefix, sizeof(prefix), "RayCluster %s/%s: spec", c->ns, c->name);
        size_t plen = strlen(prefix);
        const char *rest = strncmp(cerr.msg, prefix, plen) == 0 ? cerr.msg + plen : cerr.msg;
        rc = krc_error_set(c->err, rc, "RayService %s/%s: spec.rayClusterConfig%s", c->ns, c->name,
                           rest);
    }
out:
    json_decref(doc);
    return rc;
}

static int parse_spec(const struct json_field_ctx *c, json_t *spec, json_t *annotations,
                      struct rayservice_spec *s, struct raycluster *cluster)
{
    json_t *us = NULL;
    int rc;
    if ((rc = json_field_str_or_empty(c, spec, "spec", "serveConfigV2", &s->serve_config_v2)) ||
        (rc = json_field_obj(c, spec, "spec", "upgradeStrategy", &us)) ||
        (rc = json_field_str(c, us, "spec.upgradeStrategy", "type", &s->upgrade_type)) ||
        (rc = json_field_obj(c, us, "spec.upgradeStrategy", "clusterUpgradeOptions",
                             &s->cluster_upgrade_options)) ||
        (rc = json_field_i32(c, spec, "spec", "rayClusterDeletionDelaySeconds",
                             &s->deletion_delay_seconds)) ||
        (rc = json_field_obj(c, spec, "spec", "rayClusterConfig", &s->cluster_config)) ||
        (rc = json_field_obj(c, spec, "spec", "serveService", &s->serve_service)) ||
        (rc = json_field_bool(c, spec, "spec", "excludeHeadPodFromServeSvc",
                              &s->exclude_head_pod_from_serve_svc)) ||
        (rc = json_field_bool(c, spec, "spec", "suspend", &s->suspend)) ||
        (rc = json_field_str(c, spec, "spec", "managedBy", &s->managed_by)) ||
        (rc = json_field_i32(c, spec, "spec", "serviceUnhealthySecondThreshold",
                             &s->service_unhealthy_threshold)) ||
        (rc = json_field_i32(c, spec, "spec", "deploymentUnhealthySecondThreshold",
                             &s->deployment_unhealthy_threshold)))
        return rc;
    /* serveService.metadata must be an object if present: the Service builder reads it. */
    json_t *m;
    if ((rc = json_field_obj(c, s->serve_service, "spec.serveService", "metadata", &m)) ||
        (rc = json_field_obj(c, s->serve_service, "spec.serveService", "spec", &m)))
        return rc;
    if (s->cluster_config)
        return parse_cluster(c, s->cluster_config, annotations, cluster);
    return 0;
}

int rayservice_parse(json_t *doc, struct rayservice *rs, struct krc_error *err)
{
    struct json_field_ctx c = {RAYSERVICE_KIND, "", "", err};
    json_t *spec = NULL;
    int r;
    memset(rs, 0, sizeof(*rs));
    if (!json_is_object(doc))
        return krc_error_set(err, KRC_EINVAL, "RayService: expected a JSON object, got %s",
                             json_field_type_name(doc));
    rs->root = json_incref(doc);
    if ((r = json_field_objmeta(&c, doc, &rs->meta)) ||
        (r = json_field_obj(&c, doc, "", "spec", &spec)) ||
        (r = parse_spec(&c, spec, rs->meta.annotations, &rs->spec, &rs->cluster)) ||
        (r = json_field_obj(&c, doc, "", "status", &rs->status)))
        goto err;
    return 0;
err:
    rayservice_release(rs);
    return r;
}

void rayservice_release(struct rayservice *rs)
{
    if (!rs)
        return;
    if (rs->cluster.root)
        raycluster_release(&rs->cluster);
    json_decref(rs->root);
    memset(rs, 0, sizeof(*rs));
}

/* --- derived values ------------------------------------------------------------------------- */

bool rayservice_managed_by_kuberay(const struct rayservice *rs)
{
    return !rs->spec.managed_by || strcmp(rs->spec.managed_by, RAY_MANAGED_BY_KUBERAY) == 0;
}

int32_t rayservice_deletion_delay_seconds(const struct rayservice *rs)
{
    return rs->spec.deletion_delay_seconds.set ? rs->spec.deletion_delay_seconds.v
                                               : RAYSERVICE_DEFAULT_DELETION_DELAY;
}

bool rayservice_zero_downtime_enabled(const struct rayservice *rs, const char *env_zero_downtime,
                                      bool incremental_gate)
{
    const char *t = rs->spec.upgrade_type;
    if (t)
        return strcmp(t, RAYSERVICE_UPGRADE_NEW_CLUSTER) == 0 ||
               (incremental_gate && strcmp(t, RAYSERVICE_UPGRADE_INCREMENTAL) == 0);
    return !env_zero_downtime || strcasecmp(env_zero_downtime, "false") != 0;
}

const char *rayservice_annotation(const struct rayservice *rs, const char *key)
{
    return kobj_map_get(rs->meta.annotations, key);
}
