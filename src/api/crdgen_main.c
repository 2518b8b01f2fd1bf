/* crdgen_main.c - krc-gen-crds: writes or checks config/crd/bases/ray.io_<plural>.yaml for every
 * CRD of crd_schema.h (rayclusters, rayjobs, raycronjobs, rayservices).
 *
 *   krc-gen-crds [PLURAL]         print one CRD on stdout (default rayclusters)
 *   krc-gen-crds --out ROOT       write every CRD file under the repository root ROOT (each
 *                                 through FILE.tmp and a rename)
 *   krc-gen-crds --check ROOT     exit 1 when any committed file differs from what would be
 *                                 written
 *
 * With --k8s-openapi DIR first (the pinned k8s.io/kubernetes module's api/openapi-spec/v3), the
 * embedded Kubernetes types are expanded to their full schemas (crd_k8s.c); without it they are
 * objects with x-kubernetes-preserve-unknown-fields.
 *
 * hack/gen-crds.sh wraps this with the repository's path. */
#include "api/crd_schema.h"
#include "util/fileio.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_CRD_BYTES (4u << 20)

static int usage(FILE *f)
{
    fprintf(f, "usage: krc-gen-crds [--k8s-openapi DIR] [--check ROOT | --out ROOT | rayclusters "
               "| rayjobs | raycronjobs | rayservices]\n");
    return 2;
}

static int write_file(const char *path, const struct krc_strbuf *text)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        fprintf(stderr, "krc-gen-crds: path too long: %s\n", path);
        return 1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "krc-gen-crds: cannot create %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    size_t n = fwrite(text->buf, 1, text->len, f);
    int close_rc = fclose(f);
    if (n != text->len || close_rc != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "krc-gen-crds: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

/* 1-based line of the first difference between a and b. */
static size_t first_diff_line(const struct krc_strbuf *a, const struct krc_strbuf *b)
{
    size_t line = 1;
    for (size_t i = 0; i < a->len && i < b->len && a->buf[i] == b->buf[i]; i++)
        if (a->buf[i] == '\n')
            line++;
    return line;
}

static int check_file(const char *path, const struct krc_strbuf *want)
{
    struct krc_strbuf have = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    int rc = krc_file_read(path, MAX_CRD_BYTES, &have, &err);
    if (rc) {
        fprintf(stderr, "krc-gen-crds: %s is stale: cannot read it (%s); run hack/gen-crds.sh\n",
                path, err.msg);
        krc_strbuf_release(&have);
        return 1;
    }
    int stale = have.len != want->len || memcmp(have.buf, want->buf, want->len) != 0;
    if (stale)
        fprintf(stderr,
                "krc-gen-crds: %s is stale (first difference at line %zu): run "
                "hack/gen-crds.sh\n",
                path, first_diff_line(&have, want));
    krc_strbuf_release(&have);
    return stale ? 1 : 0;
}

/* "rayjobs" -> KRC_CRD_RAYJOB, from the file names; KRC_CRD_COUNT when unknown. */
static enum krc_crd_id id_by_plural(const char *plural)
{
    char want[128];
    snprintf(want, sizeof(want), "/ray.io_%s.yaml", plural);
    for (int id = 0; id < KRC_CRD_COUNT; id++) {
        const char *path = krc_crd_file((enum krc_crd_id)id)->path;
        const char *slash = strrchr(path, '/');
        if (slash && strcmp(slash, want) == 0)
            return (enum krc_crd_id)id;
    }
    return KRC_CRD_COUNT;
}

static int print_one(enum krc_crd_id id, const json_t *k8s)
{
    struct krc_strbuf text = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    int rc = 0;
    if (krc_crd_render_file_k8s(id, k8s, &text, &err)) {
        fprintf(stderr, "krc-gen-crds: %s\n", err.msg);
        rc = 1;
    } else if (fwrite(text.buf, 1, text.len, stdout) != text.len || fflush(stdout) != 0) {
        fprintf(stderr, "krc-gen-crds: cannot write to stdout\n");
        rc = 1;
    }
    krc_strbuf_release(&text);
    return rc;
}

/* Writes (out) or checks every CRD file under root; returns the exit status. */
static int all_files(const char *root, bool out, const json_t *k8s)
{
    int status = 0;
    for (int id = 0; id < KRC_CRD_COUNT; id++) {
        const struct krc_crd_file *f = krc_crd_file((enum krc_crd_id)id);
        struct krc_strbuf text = KRC_STRBUF_INIT;
        struct krc_error err = {0};
        char path[4096];
        if (snprintf(path, sizeof(path), "%s/%s", root, f->path) >= (int)sizeof(path)) {
            fprintf(stderr, "krc-gen-crds: path too long: %s/%s\n", root, f->path);
            return 1;
        }
        if (krc_crd_render_file_k8s((enum krc_crd_id)id, k8s, &text, &err)) {
            fprintf(stderr, "krc-gen-crds: %s: %s\n", f->path, err.msg);
            status = 1;
        } else if (out ? write_file(path, &text) : check_file(path, &text)) {
            status = 1;
        }
        krc_strbuf_release(&text);
    }
    return status;
}

int main(int argc, char **argv)
{
    json_t *k8s = NULL;
    int rc;
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
        return usage(stdout), 0;
    if (argc >= 3 && !strcmp(argv[1], "--k8s-openapi")) {
        struct krc_error err = {0};
        if (krc_crd_k8s_load(argv[2], &k8s, &err)) {
            fprintf(stderr, "krc-gen-crds: %s\n", err.msg);
            return 1;
        }
        argc -= 2;
        argv += 2;
    }
    if (argc == 3 && (!strcmp(argv[1], "--check") || !strcmp(argv[1], "--out"))) {
        rc = all_files(argv[2], !strcmp(argv[1], "--out"), k8s);
    } else if (argc == 1) {
        rc = print_one(KRC_CRD_RAYCLUSTER, k8s);
    } else if (argc == 2 && argv[1][0] != '-' && id_by_plural(argv[1]) != KRC_CRD_COUNT) {
        rc = print_one(id_by_plural(argv[1]), k8s);
    } else {
        rc = usage(stderr);
    }
    json_decref(k8s);
    return rc;
}
