/* k8s_validation.h - Kubernetes name and label checks with apimachinery's exact messages.
 *
 * KubeRay reports these messages to users verbatim (e.g. "RayCluster name should be a valid
 * DNS1035 label: [<messages>]"), so the texts here are behaviour and match
 * k8s.io/apimachinery/pkg/util/validation word for word, double spaces included. The patterns are
 * checked by hand (they are tiny regular languages); no regex engine is involved.
 *
 * Each check appends zero or more messages to a caller-owned struct k8sval_errs; an empty result
 * means valid. Like the Kubernetes checks these could move to src/kube/ later. */
#ifndef KRC_API_K8S_VALIDATION_H
#define KRC_API_K8S_VALIDATION_H

#include <stddef.h>

#define K8SVAL_MAX_ERRS 4
#define K8SVAL_MSG_MAX  400

struct k8sval_errs {
    size_t n;
    char msg[K8SVAL_MAX_ERRS][K8SVAL_MSG_MAX];
};

void k8sval_errs_init(struct k8sval_errs *e);
void k8sval_dns1035_label(const char *value, struct k8sval_errs *e);
void k8sval_dns1123_label(const char *value, struct k8sval_errs *e);
void k8sval_dns1123_subdomain(const char *value, struct k8sval_errs *e);
void k8sval_qualified_name(const char *value, struct k8sval_errs *e);
void k8sval_label_value(const char *value, struct k8sval_errs *e);

/* Formats the list as Go's %v prints a []string: "[m1 m2]". Returns out. */
char *k8sval_errs_format(const struct k8sval_errs *e, char *out, size_t size);

#endif
