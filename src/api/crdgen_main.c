/* crdgen_main.c - krc-gen-crds: writes or checks config/crd/bases/ray.io_rayclusters.yaml.
 *
 *   krc-gen-crds                 print the CRD on stdout
 *   krc-gen-crds --out FILE      write it to FILE (through FILE.tmp and a rename)
 *   krc-gen-crds --check FILE    exit 1 when FILE differs from what would be written
 *
 * hack/gen-crds.sh wraps this with the repository's path. */
#include "api/crd_schema.h"
#include "util/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_CRD_BYTES (4u << 20)

static int usage(FILE *f)
{
    fprintf(f, "usage: krc-gen-crds [--check FILE | --out FILE]\n");
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

int main(int argc, char **argv)
{
    const char *mode = NULL;
    const char *path = NULL;
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
        return usage(stdout), 0;
    if (argc == 3 && (!strcmp(argv[1], "--check") || !strcmp(argv[1], "--out"))) {
        mode = argv[1];
        path = argv[2];
    } else if (argc != 1) {
        return usage(stderr);
    }

    struct krc_strbuf text = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    if (krc_crd_render(&text, &err)) {
        fprintf(stderr, "krc-gen-crds: %s\n", err.msg);
        krc_strbuf_release(&text);
        return 1;
    }
    int rc = 0;
    if (!mode) {
        if (fwrite(text.buf, 1, text.len, stdout) != text.len || fflush(stdout) != 0) {
            fprintf(stderr, "krc-gen-crds: cannot write to stdout\n");
            rc = 1;
        }
    } else if (!strcmp(mode, "--out")) {
        rc = write_file(path, &text);
    } else {
        rc = check_file(path, &text);
    }
    krc_strbuf_release(&text);
    return rc;
}
