/* config.c - kubeconfig files: YAML parsing, kubectl's merge rules, resolution of one context.
 *
 * Each file is loaded with libyaml into a node tree (yaml_parser_load), because the tree keeps a
 * line mark on every node and so every error can say "file:line: field: what is wrong". The three
 * named lists (clusters, users, contexts) are read through one table-driven walker: a table per
 * list says which keys exist and of which kind (string, path, bool, base64 data, presence-only),
 * and unknown keys are ignored as kubectl ignores them. Every entry of every file is type-checked,
 * as kubectl fails on a malformed file even when the broken entry is not the one used.
 *
 * Merging is "first definition of a name wins, whole": an entry from a later file with a name
 * already seen is checked and dropped. Lookups are linear scans: kubeconfigs hold a handful of
 * entries; a hash table would only pay off with thousands of contexts. */
#include "kube/config.h"

#include "util/base64.h"
#include "util/fileio.h"
#include "util/strbuf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

enum kc_kind {
    KC_STRING, /* any scalar */
    KC_PATH,   /* a scalar file path, made absolute against the file's directory */
    KC_BOOL,   /* true/false (yes/no, on/off as YAML 1.1 allows) */
    KC_DATA,   /* base64 text, stored decoded */
    KC_ANY,    /* presence only (exec, auth-provider): stored as "1" */
};

struct kc_field {
    const char *key;
    enum kc_kind kind;
};

enum { CL_SERVER, CL_CA, CL_CA_DATA, CL_INSECURE, CL_TLS_SERVER_NAME, CL_NFIELDS };
static const struct kc_field cluster_fields[CL_NFIELDS] = {
    [CL_SERVER] = {"server", KC_STRING},
    [CL_CA] = {"certificate-authority", KC_PATH},
    [CL_CA_DATA] = {"certificate-authority-data", KC_DATA},
    [CL_INSECURE] = {"insecure-skip-tls-verify", KC_BOOL},
    [CL_TLS_SERVER_NAME] = {"tls-server-name", KC_STRING},
};

enum {
    US_CERT,
    US_CERT_DATA,
    US_KEY,
    US_KEY_DATA,
    US_TOKEN,
    US_TOKEN_FILE,
    US_EXEC,
    US_AUTH_PROVIDER,
    US_NFIELDS
};
static const struct kc_field user_fields[US_NFIELDS] = {
    [US_CERT] = {"client-certificate", KC_PATH},
    [US_CERT_DATA] = {"client-certificate-data", KC_DATA},
    [US_KEY] = {"client-key", KC_PATH},
    [US_KEY_DATA] = {"client-key-data", KC_DATA},
    [US_TOKEN] = {"token", KC_STRING},
    [US_TOKEN_FILE] = {"tokenFile", KC_PATH},
    [US_EXEC] = {"exec", KC_ANY},
    [US_AUTH_PROVIDER] = {"auth-provider", KC_ANY},
};

enum { CX_CLUSTER, CX_USER, CX_NAMESPACE, CX_NFIELDS };
static const struct kc_field context_fields[CX_NFIELDS] = {
    [CX_CLUSTER] = {"cluster", KC_STRING},
    [CX_USER] = {"user", KC_STRING},
    [CX_NAMESPACE] = {"namespace", KC_STRING},
};

enum { KC_MAX_FIELDS = US_NFIELDS };
enum kc_section { KC_CLUSTERS, KC_USERS, KC_CONTEXTS, KC_NSECTIONS };

struct kc_section_spec {
    const char *list_key; /* "clusters" */
    const char *item_key; /* "cluster" */
    const struct kc_field *fields;
    int nfields;
};

static const struct kc_section_spec sections[KC_NSECTIONS] = {
    [KC_CLUSTERS] = {"clusters", "cluster", cluster_fields, CL_NFIELDS},
    [KC_USERS] = {"users", "user", user_fields, US_NFIELDS},
    [KC_CONTEXTS] = {"contexts", "context", context_fields, CX_NFIELDS},
};

struct kc_value {
    char *s; /* NULL when unset */
    size_t len;
    unsigned long line;
};

struct kc_entry {
    char *name;
    const char *file; /* borrowed from struct kc_merged.files */
    unsigned long line;
    struct kc_value val[KC_MAX_FIELDS];
};

struct kc_list {
    struct kc_entry *v;
    size_t n, alloc;
};

struct kc_merged {
    struct kc_list lists[KC_NSECTIONS];
    char *current_context;
    const char *cc_file;
    unsigned long cc_line;
    char **files; /* every file loaded, in order */
    size_t nfiles;
};

/* What the walker needs to name a place in an error. */
struct kc_parse {
    const char *file;
    char *dir; /* absolute directory of file, for relative paths */
    yaml_document_t *doc;
    struct krc_error *err;
};

static void entry_free(struct kc_entry *e)
{
    free(e->name);
    for (int i = 0; i < KC_MAX_FIELDS; i++)
        free(e->val[i].s);
    memset(e, 0, sizeof(*e));
}

static void merged_free(struct kc_merged *m)
{
    for (int s = 0; s < KC_NSECTIONS; s++) {
        for (size_t i = 0; i < m->lists[s].n; i++)
            entry_free(&m->lists[s].v[i]);
        free(m->lists[s].v);
    }
    free(m->current_context);
    for (size_t i = 0; i < m->nfiles; i++)
        free(m->files[i]);
    free(m->files);
    memset(m, 0, sizeof(*m));
}

static unsigned long line_of(const yaml_node_t *n)
{
    return (unsigned long)n->start_mark.line + 1;
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

static int type_error(struct kc_parse *p, const yaml_node_t *n, const char *field,
                      const char *expected)
{
    return krc_error_set(p->err, KRC_EINVAL, "kubeconfig %s:%lu: %s: expected %s, found %s",
                         p->file, line_of(n), field, expected, kind_name(n));
}

/* Looks up key in a mapping node; NULL when absent. Non-scalar keys never match. */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(doc, pr->key);
        if (k && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, pr->value);
    }
    return NULL;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "y"};
    static const char *const no[] = {"false", "no", "off", "n"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return KRC_EINVAL;
}

/* Joins dir and a relative path; absolute paths are copied as they are. */
static char *resolve_path(const char *dir, const char *path)
{
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    if (path[0] == '/' || !dir)
        return strdup(path);
    size_t dlen = strlen(dir);
    if (krc_strbuf_addf(&sb, "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/", path) != 0) {
        krc_strbuf_release(&sb);
        return NULL;
    }
    return krc_strbuf_detach(&sb);
}

/* Stores one field value of the kind the table says, or reports a type error. */
static int parse_value(struct kc_parse *p, const struct kc_field *f, yaml_node_t *n,
                       const char *where, struct kc_value *out)
{
    char field[256];
    const char *s;
    size_t len;
    int rc = 0;

    snprintf(field, sizeof(field), "%s.%s", where, f->key);
    out->line = line_of(n);
    if (is_null(n))
        return 0;
    if (f->kind == KC_ANY) {
        out->s = strdup("1");
        out->len = 1;
        goto check_alloc;
    }
    if (n->type != YAML_SCALAR_NODE)
        return type_error(p, n, field, f->kind == KC_BOOL ? "true or false" : "a string");
    s = (const char *)n->data.scalar.value;
    len = n->data.scalar.length;
    switch (f->kind) {
    case KC_BOOL: {
        int b;
        if (parse_bool(s, &b) != 0)
            return krc_error_set(p->err, KRC_EINVAL,
                                 "kubeconfig %s:%lu: %s: expected true or false, found \"%.40s\"",
                                 p->file, out->line, field, s);
        out->s = strdup(b ? "true" : "false");
        out->len = strlen(b ? "true" : "false");
        break;
    }
    case KC_DATA: {
        size_t bad = 0;
        rc = krc_base64_decode(s, len, &out->s, &out->len, &bad);
        if (rc == KRC_EINVAL)
            return krc_error_set(p->err, KRC_EINVAL,
                                 "kubeconfig %s:%lu: %s: invalid base64 at offset %zu", p->file,
                                 out->line, field, bad);
        if (rc == 0 && out->len == 0) {
            free(out->s); /* "" decodes to nothing: the same as not set */
            out->s = NULL;
            return 0;
        }
        break;
    }
    case KC_PATH:
        if (!*s)
            return 0;
        out->s = resolve_path(p->dir, s);
        out->len = out->s ? strlen(out->s) : 0;
        break;
    default:
        out->s = strndup(s, len);
        out->len = len;
        break;
    }
check_alloc:
    if (!out->s || rc == KRC_ENOMEM)
        return krc_error_set(p->err, KRC_ENOMEM, "kubeconfig %s: out of memory", p->file);
    return 0;
}

static const struct kc_entry *list_find(const struct kc_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

static int list_push(struct kc_list *l, struct kc_entry *e)
{
    if (l->n == l->alloc) {
        size_t n = l->alloc ? l->alloc * 2 : 8;
        struct kc_entry *v = realloc(l->v, n * sizeof(*v));
        if (!v)
            return KRC_ENOMEM;
        l->v = v;
        l->alloc = n;
    }
    l->v[l->n++] = *e;
    memset(e, 0, sizeof(*e));
    return 0;
}

/* Parses one "- name: x\n  cluster: {...}" item into e. */
static int parse_item(struct kc_parse *p, const struct kc_section_spec *spec, size_t index,
                      yaml_node_t *item, struct kc_entry *e)
{
    char where[128];
    yaml_node_t *name, *body;

    snprintf(where, sizeof(where), "%s[%zu]", spec->list_key, index);
    if (item->type != YAML_MAPPING_NODE)
        return type_error(p, item, where, "a mapping");
    e->file = p->file;
    e->line = line_of(item);
    name = map_get(p->doc, item, "name");
    if (!name || is_null(name) || name->type != YAML_SCALAR_NODE || !name->data.scalar.length) {
        if (name && !is_null(name) && name->type != YAML_SCALAR_NODE)
            return type_error(p, name, where, "a string name");
        return krc_error_set(p->err, KRC_EINVAL, "kubeconfig %s:%lu: %s: name is missing", p->file,
                             e->line, where);
    }
    e->name = strdup((const char *)name->data.scalar.value);
    if (!e->name)
        return krc_error_set(p->err, KRC_ENOMEM, "kubeconfig %s: out of memory", p->file);
    snprintf(where, sizeof(where), "%s[%zu].%s", spec->list_key, index, spec->item_key);
    body = map_get(p->doc, item, spec->item_key);
    if (!body || is_null(body))
        return 0; /* an empty entry is legal; resolution reports what it lacks */
    if (body->type != YAML_MAPPING_NODE)
        return type_error(p, body, where, "a mapping");
    for (int i = 0; i < spec->nfields; i++) {
        yaml_node_t *v = map_get(p->doc, body, spec->fields[i].key);
        if (!v)
            continue;
        int rc = parse_value(p, &spec->fields[i], v, where, &e->val[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_section(struct kc_parse *p, yaml_node_t *root, enum kc_section s,
                         struct kc_merged *m)
{
    const struct kc_section_spec *spec = &sections[s];
    yaml_node_t *list = map_get(p->doc, root, spec->list_key);
    struct kc_entry e;
    int rc = 0;

    memset(&e, 0, sizeof(e));
    if (!list || is_null(list))
        return 0;
    if (list->type != YAML_SEQUENCE_NODE)
        return type_error(p, list, spec->list_key, "a sequence");
    size_t index = 0;
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++, index++) {
        yaml_node_t *item = yaml_document_get_node(p->doc, *it);
        if (!item)
            continue;
        rc = parse_item(p, spec, index, item, &e);
        if (rc)
            goto out;
        if (list_find(&m->lists[s], e.name)) {
            entry_free(&e); /* kubectl: the first definition of a name wins */
            continue;
        }
        if (list_push(&m->lists[s], &e) != 0) {
            rc = krc_error_set(p->err, KRC_ENOMEM, "kubeconfig %s: out of memory", p->file);
            goto out;
        }
    }
out:
    entry_free(&e);
    return rc;
}

static int parse_root(struct kc_parse *p, yaml_node_t *root, struct kc_merged *m)
{
    int rc;
    if (root->type != YAML_MAPPING_NODE)
        return type_error(p, root, "top level", "a mapping");
    yaml_node_t *cc = map_get(p->doc, root, "current-context");
    if (cc && !is_null(cc)) {
        if (cc->type != YAML_SCALAR_NODE)
            return type_error(p, cc, "current-context", "a string");
        if (!m->current_context && cc->data.scalar.length) {
            m->current_context = strdup((const char *)cc->data.scalar.value);
            if (!m->current_context)
                return krc_error_set(p->err, KRC_ENOMEM, "kubeconfig %s: out of memory", p->file);
            m->cc_file = p->file;
            m->cc_line = line_of(cc);
        }
    }
    for (int s = 0; s < KC_NSECTIONS; s++) {
        rc = parse_section(p, root, (enum kc_section)s, m);
        if (rc)
            return rc;
    }
    return 0;
}

/* Absolute directory of path, for resolving relative paths inside it, like kubectl's
 * filepath.Abs(filepath.Dir(file)): symlinks are not resolved. NULL on allocation failure or
 * when the working directory is unknown (relative paths then stay relative to it). */
static char *dir_of(const char *path)
{
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    char cwd[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int rc = 0;

    if (path[0] != '/') {
        if (!getcwd(cwd, sizeof(cwd)))
            return NULL;
        rc = krc_strbuf_addf(&sb, "%s/", strcmp(cwd, "/") == 0 ? "" : cwd);
    }
    if (!rc && slash)
        rc = krc_strbuf_add(&sb, path, slash == path ? 1 : (size_t)(slash - path));
    if (!rc && !slash && sb.len > 1)
        sb.buf[--sb.len] = '\0'; /* "cwd/" -> "cwd" */
    if (rc) {
        krc_strbuf_release(&sb);
        return NULL;
    }
    return krc_strbuf_detach(&sb);
}

/* Loads one file into m. The file name is copied into m->files first so entries can borrow it. */
static int load_file(const char *path, struct kc_merged *m, struct krc_error *err)
{
    struct krc_strbuf text;
    yaml_parser_t parser;
    yaml_document_t doc;
    int parser_ok = 0, doc_ok = 0, rc = 0;
    struct kc_parse p = {.file = NULL, .dir = NULL, .doc = &doc, .err = err};

    krc_strbuf_init(&text, KRC_KUBECONFIG_FILE_MAX);
    char **files = realloc(m->files, (m->nfiles + 1) * sizeof(*files));
    if (!files)
        return krc_error_set(err, KRC_ENOMEM, "kubeconfig %s: out of memory", path);
    m->files = files;
    m->files[m->nfiles] = strdup(path);
    if (!m->files[m->nfiles])
        return krc_error_set(err, KRC_ENOMEM, "kubeconfig %s: out of memory", path);
    p.file = m->files[m->nfiles++];

    rc = krc_file_read(path, KRC_KUBECONFIG_FILE_MAX, &text, err);
    if (rc) {
        krc_error_wrap(err, rc, "kubeconfig");
        goto out;
    }
    p.dir = dir_of(path);
    if (!yaml_parser_initialize(&parser)) {
        rc = krc_error_set(err, KRC_ENOMEM, "kubeconfig %s: cannot initialise the YAML parser",
                           path);
        goto out;
    }
    parser_ok = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text.buf, text.len);
    if (!yaml_parser_load(&parser, &doc)) {
        if (parser.error == YAML_MEMORY_ERROR) {
            rc = krc_error_set(err, KRC_ENOMEM, "kubeconfig %s: out of memory", path);
        } else {
            /* libyaml says where it gave up (problem_mark) and, for an unterminated construct,
             * where that construct began (context_mark): both lines help find the mistake. */
            char ctx[160] = "";
            if (parser.context)
                snprintf(ctx, sizeof(ctx), " %s started at line %lu", parser.context,
                         (unsigned long)parser.context_mark.line + 1);
            rc = krc_error_set(err, KRC_EINVAL, "kubeconfig %s:%lu:%lu: malformed YAML: %s%s", path,
                               (unsigned long)parser.problem_mark.line + 1,
                               (unsigned long)parser.problem_mark.column + 1,
                               parser.problem ? parser.problem : "syntax error", ctx);
        }
        goto out;
    }
    doc_ok = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !is_null(root))
        rc = parse_root(&p, root, m); /* an empty file is an empty config, as for kubectl */
out:
    if (doc_ok)
        yaml_document_delete(&doc);
    if (parser_ok)
        yaml_parser_delete(&parser);
    free(p.dir);
    krc_strbuf_release(&text);
    return rc;
}

/* The list of files to load: the explicit path, else $KUBECONFIG's existing entries (deduplicated),
 * else ~/.kube/config. Fills m by loading each. */
static int load_files(const struct krc_kubeconfig_options *opts, struct kc_merged *m,
                      struct krc_error *err)
{
    const char *env = getenv("KUBECONFIG");
    char *list = NULL, *save = NULL;
    struct krc_strbuf home = KRC_STRBUF_INIT;
    int rc = 0;

    if (opts && opts->path && *opts->path) {
        if (access(opts->path, F_OK) != 0)
            return krc_error_set(err, KRC_ENOTFOUND, "kubeconfig %s: %s", opts->path,
                                 strerror(errno));
        return load_file(opts->path, m, err);
    }
    if (env && *env) {
        list = strdup(env);
        if (!list)
            return krc_error_set(err, KRC_ENOMEM, "KUBECONFIG: out of memory");
        for (char *f = strtok_r(list, ":", &save); f; f = strtok_r(NULL, ":", &save)) {
            int seen = 0;
            for (size_t i = 0; i < m->nfiles; i++)
                seen |= strcmp(m->files[i], f) == 0;
            if (seen || (access(f, F_OK) != 0 && errno == ENOENT))
                continue; /* kubectl skips missing entries of KUBECONFIG */
            rc = load_file(f, m, err);
            if (rc)
                goto out;
        }
        if (m->nfiles == 0)
            rc = krc_error_set(err, KRC_ENOTFOUND,
                               "kubeconfig: none of the files in KUBECONFIG=%s exists", env);
        goto out;
    }
    const char *h = getenv("HOME");
    if (!h || !*h) {
        rc = krc_error_set(err, KRC_ENOTFOUND, "kubeconfig: no --kubeconfig, KUBECONFIG or HOME");
        goto out;
    }
    if (krc_strbuf_addf(&home, "%s/.kube/config", h) != 0) {
        rc = krc_error_set(err, KRC_ENOMEM, "kubeconfig: out of memory");
        goto out;
    }
    if (access(home.buf, F_OK) != 0) {
        rc = krc_error_set(err, KRC_ENOTFOUND, "kubeconfig %s: %s", home.buf, strerror(errno));
        goto out;
    }
    rc = load_file(home.buf, m, err);
out:
    free(list);
    krc_strbuf_release(&home);
    return rc;
}

static char *source_of(const struct kc_merged *m)
{
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    for (size_t i = 0; i < m->nfiles; i++) {
        if (krc_strbuf_addf(&sb, "%s%s", i ? ":" : "", m->files[i]) != 0) {
            krc_strbuf_release(&sb);
            return NULL;
        }
    }
    return krc_strbuf_detach(&sb);
}

static int dup_value(const struct kc_value *v, char **out)
{
    *out = NULL;
    if (!v->s)
        return 0;
    *out = strdup(v->s);
    return *out ? 0 : KRC_ENOMEM;
}

static int dup_pem(const struct kc_value *v, struct krc_pem *out)
{
    out->data = NULL;
    out->len = 0;
    if (!v->s)
        return 0;
    out->data = malloc(v->len + 1);
    if (!out->data)
        return KRC_ENOMEM;
    memcpy(out->data, v->s, v->len + 1);
    out->len = v->len;
    return 0;
}

/* Reports that a referenced file (certificate, key, token) cannot be read. */
static int check_readable(const struct kc_entry *e, const struct kc_field *f,
                          const struct kc_value *v, const char *what, struct krc_error *err)
{
    if (!v->s || access(v->s, R_OK) == 0)
        return 0;
    int e_ = errno;
    return krc_error_set(err, e_ == ENOENT ? KRC_ENOTFOUND : KRC_EIO,
                         "kubeconfig %s:%lu: %s \"%s\": %s %s: %s", e->file, v->line, what, e->name,
                         f->key, v->s, strerror(e_));
}

static int both_set(const struct kc_entry *e, int a, int b, const struct kc_field *fields,
                    const char *what, struct krc_error *err)
{
    if (!e->val[a].s || !e->val[b].s)
        return 0;
    return krc_error_set(err, KRC_EINVAL, "kubeconfig %s:%lu: %s \"%s\": both %s and %s are set",
                         e->file, e->val[b].line, what, e->name, fields[a].key, fields[b].key);
}

static int resolve_cluster(const struct kc_entry *cl, struct krc_kubeconfig *cfg,
                           struct krc_error *err)
{
    const struct kc_value *server = &cl->val[CL_SERVER];
    int rc;

    if (!server->s || !*server->s)
        return krc_error_set(err, KRC_EINVAL,
                             "kubeconfig %s:%lu: cluster \"%s\": server is not set", cl->file,
                             cl->line, cl->name);
    if (strncmp(server->s, "https://", 8) != 0 && strncmp(server->s, "http://", 7) != 0)
        return krc_error_set(
            err, KRC_EINVAL,
            "kubeconfig %s:%lu: cluster \"%s\": server \"%s\" is not an http(s) URL", cl->file,
            server->line, cl->name, server->s);
    rc = both_set(cl, CL_CA, CL_CA_DATA, cluster_fields, "cluster", err);
    if (rc)
        return rc;
    cfg->insecure_skip_tls_verify =
        cl->val[CL_INSECURE].s && !strcmp(cl->val[CL_INSECURE].s, "true");
    if (cfg->insecure_skip_tls_verify && (cl->val[CL_CA].s || cl->val[CL_CA_DATA].s))
        return krc_error_set(err, KRC_EINVAL,
                             "kubeconfig %s:%lu: cluster \"%s\": insecure-skip-tls-verify together "
                             "with a certificate authority is not allowed",
                             cl->file, cl->val[CL_INSECURE].line, cl->name);
    rc = check_readable(cl, &cluster_fields[CL_CA], &cl->val[CL_CA], "cluster", err);
    if (rc)
        return rc;
    if (dup_value(server, &cfg->server) || dup_value(&cl->val[CL_CA], &cfg->ca_file) ||
        dup_pem(&cl->val[CL_CA_DATA], &cfg->ca_data) ||
        dup_value(&cl->val[CL_TLS_SERVER_NAME], &cfg->tls_server_name))
        return krc_error_set(err, KRC_ENOMEM, "kubeconfig: out of memory");
    size_t n = strlen(cfg->server);
    while (n > 0 && cfg->server[n - 1] == '/')
        cfg->server[--n] = '\0';
    return 0;
}

static int resolve_user(const struct kc_entry *us, struct krc_kubeconfig *cfg,
                        struct krc_error *err)
{
    int rc;
    if ((rc = both_set(us, US_CERT, US_CERT_DATA, user_fields, "user", err)) ||
        (rc = both_set(us, US_KEY, US_KEY_DATA, user_fields, "user", err)))
        return rc;
    int has_cert = us->val[US_CERT].s || us->val[US_CERT_DATA].s;
    int has_key = us->val[US_KEY].s || us->val[US_KEY_DATA].s;
    if (has_cert != has_key)
        return krc_error_set(err, KRC_EINVAL,
                             "kubeconfig %s:%lu: user \"%s\": a client certificate needs a client "
                             "key and the other way round",
                             us->file, us->line, us->name);
    int has_token = us->val[US_TOKEN].s || us->val[US_TOKEN_FILE].s;
    if (!has_cert && !has_token && (us->val[US_EXEC].s || us->val[US_AUTH_PROVIDER].s))
        return krc_error_set(err, KRC_EINVAL,
                             "kubeconfig %s:%lu: user \"%s\": exec and auth-provider credential "
                             "plugins are not supported; use a token or a client certificate",
                             us->file, us->line, us->name);
    static const int files[] = {US_CERT, US_KEY, US_TOKEN_FILE};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        rc = check_readable(us, &user_fields[files[i]], &us->val[files[i]], "user", err);
        if (rc)
            return rc;
    }
    if (dup_value(&us->val[US_CERT], &cfg->client_cert_file) ||
        dup_pem(&us->val[US_CERT_DATA], &cfg->client_cert_data) ||
        dup_value(&us->val[US_KEY], &cfg->client_key_file) ||
        dup_pem(&us->val[US_KEY_DATA], &cfg->client_key_data) ||
        dup_value(&us->val[US_TOKEN], &cfg->token) ||
        dup_value(&us->val[US_TOKEN_FILE], &cfg->token_file))
        return krc_error_set(err, KRC_ENOMEM, "kubeconfig: out of memory");
    return 0;
}

/* Picks the context and copies what it references into cfg. */
static int resolve(const struct kc_merged *m, const char *override, struct krc_kubeconfig *cfg,
                   struct krc_error *err)
{
    const char *src = cfg->source;
    const char *name = override && *override ? override : m->current_context;
    const struct kc_list *contexts = &m->lists[KC_CONTEXTS];
    const struct kc_entry *cx = NULL, *cl, *us = NULL;
    int rc;

    if (!name)
        return krc_error_set(err, KRC_EINVAL,
                             "kubeconfig %s: current-context is not set and no context was given",
                             src);
    cx = list_find(contexts, name);
    if (!cx) {
        if (name == m->current_context)
            return krc_error_set(err, KRC_EINVAL,
                                 "kubeconfig %s:%lu: current-context \"%s\" is not defined in %s",
                                 m->cc_file, m->cc_line, name, src);
        return krc_error_set(err, KRC_EINVAL, "kubeconfig %s: context \"%s\" is not defined", src,
                             name);
    }
    const char *cluster = cx->val[CX_CLUSTER].s, *user = cx->val[CX_USER].s;
    if (!cluster || !*cluster)
        return krc_error_set(err, KRC_EINVAL,
                             "kubeconfig %s:%lu: context \"%s\": cluster is not set", cx->file,
                             cx->line, cx->name);
    cl = list_find(&m->lists[KC_CLUSTERS], cluster);
    if (!cl)
        return krc_error_set(
            err, KRC_EINVAL,
            "kubeconfig %s:%lu: context \"%s\": cluster \"%s\" is not defined in %s", cx->file,
            cx->val[CX_CLUSTER].line, cx->name, cluster, src);
    if (user && *user) {
        us = list_find(&m->lists[KC_USERS], user);
        if (!us)
            return krc_error_set(
                err, KRC_EINVAL,
                "kubeconfig %s:%lu: context \"%s\": user \"%s\" is not defined in %s", cx->file,
                cx->val[CX_USER].line, cx->name, user, src);
    }
    rc = resolve_cluster(cl, cfg, err);
    if (rc)
        return rc;
    if (us && (rc = resolve_user(us, cfg, err)) != 0)
        return rc;
    const char *ns = cx->val[CX_NAMESPACE].s;
    cfg->namespace = strdup(ns && *ns ? ns : "default");
    cfg->context = strdup(cx->name);
    if (!cfg->namespace || !cfg->context)
        return krc_error_set(err, KRC_ENOMEM, "kubeconfig: out of memory");
    return 0;
}

int krc_kubeconfig_load(struct krc_kubeconfig *cfg, const struct krc_kubeconfig_options *opts,
                        struct krc_error *err)
{
    struct kc_merged m;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    memset(&m, 0, sizeof(m));
    rc = load_files(opts, &m, err);
    if (rc)
        goto out;
    cfg->source = source_of(&m);
    if (!cfg->source) {
        rc = krc_error_set(err, KRC_ENOMEM, "kubeconfig: out of memory");
        goto out;
    }
    rc = resolve(&m, opts ? opts->context : NULL, cfg, err);
out:
    merged_free(&m);
    if (rc)
        krc_kubeconfig_free(cfg);
    return rc;
}

/* Overwrites a secret before freeing it, so it does not linger in freed heap memory (core dumps).
 * The volatile pointer keeps the compiler from dropping the stores as dead. */
static void wipe_free(char *s, size_t len)
{
    if (!s)
        return;
    volatile char *v = s;
    for (size_t i = 0; i < len; i++)
        v[i] = 0;
    free(s);
}

static void pem_free(struct krc_pem *p)
{
    wipe_free(p->data, p->len);
    p->data = NULL;
    p->len = 0;
}

void krc_kubeconfig_free(struct krc_kubeconfig *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->tls_server_name);
    free(cfg->ca_file);
    pem_free(&cfg->ca_data);
    free(cfg->client_cert_file);
    pem_free(&cfg->client_cert_data);
    free(cfg->client_key_file);
    pem_free(&cfg->client_key_data);
    wipe_free(cfg->token, cfg->token ? strlen(cfg->token) : 0);
    free(cfg->token_file);
    free(cfg->namespace);
    free(cfg->context);
    free(cfg->source);
    memset(cfg, 0, sizeof(*cfg));
}
