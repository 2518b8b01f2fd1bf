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
        return raycluster_parse_embedded(c, s->cluster_config, annotations, "RayService",
                                         "spec.rayClusterConfig", cluster);
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
