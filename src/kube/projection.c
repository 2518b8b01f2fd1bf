/* projection.c - the projection trie, the one-allocation object, and the yajl SAX parser.
 *
 * Parsing is a small state machine over yajl's callbacks. A stack of frames (one per open map or
 * array, at most max_depth) records, for each container, its role in the Kubernetes shape (list,
 * list metadata, items, watch event, object, metadata, labels, owner references) and the node of
 * the declared-path trie it corresponds to. A map key decides the role, trie node and fixed field
 * of the value that follows; arrays hand their elements a role (items are objects, owner
 * references are owner references). When a value's trie node ends a declared path, the value is
 * re-serialised as compact JSON (keys and strings re-escaped, numbers kept as their original
 * text) until its container closes. Roles and capture are independent, so a declared path may
 * also be a fixed field ("metadata.labels" is both kept as JSON and parsed into pairs).
 *
 * The object under construction lives in three reusable buffers of the parser (fixed strings,
 * label pairs, kept JSON), so building an object costs one malloc: the final, exact-size copy.
 * The buffers grow to the largest object seen and stay there until the parser is freed; the
 * alternative, one allocation per string, would cost more in malloc overhead than the strings.
 *
 * yajl buffers a token split across chunks internally and does not bound it, so the parser feeds
 * yajl slices of at most 64 KiB and fails once a whole slice passes without a token ending while
 * more than max_value bytes went by: a token is thus bounded by max_value plus one slice. */
#include "kube/projection.h"

#include "util/strbuf.h"

#include <yajl/yajl_parse.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLICE         (64u * 1024)
#define NONE          SIZE_MAX
#define MAX_DEPTH_CAP 1024u
#define MAX_VALUE_CAP (64u * 1024 * 1024)
/* Status reason and message of a watch ERROR event: only for messages, so truncated, not failed. */
#define STATUS_TEXT_MAX 1024u

/* ---- the projection: a trie of declared paths ---- */

struct pnode {
    const char *seg; /* points into the owning path's copy */
    size_t seglen;
    int leaf; /* index of the declared path ending here, or -1 */
    struct pnode *child;
    struct pnode *next;
};

struct krc_projection {
    size_t npaths;
    char **paths;
    struct pnode root;
    struct krc_projection_limits limits;
    struct {
        size_t path;
        char *key;
        size_t keylen;
    } drops[KRC_PROJECTION_MAX_DROPS];
    size_t ndrops;
};

static struct pnode *pnode_child(const struct pnode *n, const char *key, size_t len)
{
    for (struct pnode *c = n->child; c; c = c->next)
        if (c->seglen == len && memcmp(c->seg, key, len) == 0)
            return c;
    return NULL;
}

static void pnode_free_children(struct pnode *n)
{
    struct pnode *c = n->child;
    while (c) {
        struct pnode *next = c->next;
        pnode_free_children(c);
        free(c);
        c = next;
    }
    n->child = NULL;
}

/* Adds path i (already copied into p->paths[i]) to the trie. */
static int projection_add(struct krc_projection *p, size_t i, struct krc_error *err)
{
    const char *path = p->paths[i];
    struct pnode *n = &p->root;
    const char *seg = path;

    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        if (len == 0)
            return krc_error_set(err, KRC_EINVAL, "projection path \"%s\": empty segment", path);
        struct pnode *c = pnode_child(n, seg, len);
        if (c && c->leaf >= 0)
            return krc_error_set(err, KRC_EINVAL, "projection path \"%s\": %s \"%s\"", path,
                                 dot ? "lies inside declared path" : "repeats declared path",
                                 p->paths[c->leaf]);
        if (!c) {
            c = calloc(1, sizeof(*c));
            if (!c)
                return krc_error_set(err, KRC_ENOMEM, "projection path \"%s\": out of memory",
                                     path);
            c->seg = seg;
            c->seglen = len;
            c->leaf = -1;
            c->next = n->child;
            n->child = c;
        }
        if (!dot) {
            if (c->child)
                return krc_error_set(err, KRC_EINVAL,
                                     "projection path \"%s\": another declared path lies inside it",
                                     path);
            c->leaf = (int)i;
            return 0;
        }
        n = c;
        seg = dot + 1;
    }
}

int krc_projection_new(const char *const *paths, size_t npaths,
                       const struct krc_projection_limits *limits, struct krc_projection **out,
                       struct krc_error *err)
{
    struct krc_projection *p = NULL;
    int rc;

    *out = NULL;
    if (npaths > KRC_PROJECTION_MAX_PATHS)
        return krc_error_set(err, KRC_EINVAL, "projection: %zu paths, at most %d", npaths,
                             KRC_PROJECTION_MAX_PATHS);
    p = calloc(1, sizeof(*p));
    if (!p)
        return krc_error_set(err, KRC_ENOMEM, "projection: out of memory");
    p->root.leaf = -1;
    p->limits.max_depth = KRC_PROJECTION_DEFAULT_MAX_DEPTH;
    p->limits.max_value = KRC_PROJECTION_DEFAULT_MAX_VALUE;
    if (limits && limits->max_depth)
        p->limits.max_depth = limits->max_depth;
    if (limits && limits->max_value)
        p->limits.max_value = limits->max_value;
    if (p->limits.max_depth > MAX_DEPTH_CAP || p->limits.max_value > MAX_VALUE_CAP) {
        rc = krc_error_set(err, KRC_EINVAL, "projection: limits over %u levels or %u bytes",
                           MAX_DEPTH_CAP, MAX_VALUE_CAP);
        goto err;
    }
    if (npaths) {
        p->paths = calloc(npaths, sizeof(*p->paths));
        if (!p->paths) {
            rc = krc_error_set(err, KRC_ENOMEM, "projection: out of memory");
            goto err;
        }
    }
    for (size_t i = 0; i < npaths; i++) {
        if (!paths[i] || !*paths[i]) {
            rc = krc_error_set(err, KRC_EINVAL, "projection path %zu is empty", i);
            goto err;
        }
        p->paths[i] = strdup(paths[i]);
        if (!p->paths[i]) {
            rc = krc_error_set(err, KRC_ENOMEM, "projection: out of memory");
            goto err;
        }
        p->npaths = i + 1;
        rc = projection_add(p, i, err);
        if (rc < 0)
            goto err;
    }
    p->npaths = npaths;
    *out = p;
    return 0;
err:
    krc_projection_free(p);
    return rc;
}

void krc_projection_free(struct krc_projection *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ndrops; i++)
        free(p->drops[i].key);
    pnode_free_children(&p->root);
    for (size_t i = 0; i < p->npaths; i++)
        free(p->paths[i]);
    free(p->paths);
    free(p);
}

int krc_projection_drop_member(struct krc_projection *p, const struct krc_projection_drop *d,
                               struct krc_error *err)
{
    if (d->path >= p->npaths || !d->key || !*d->key || p->ndrops == KRC_PROJECTION_MAX_DROPS)
        return krc_error_set(err, KRC_EINVAL,
                             "projection: cannot drop a member of path %zu (%zu paths, %zu of %d "
                             "drops used)",
                             d->path, p->npaths, p->ndrops, KRC_PROJECTION_MAX_DROPS);
    char *key = strdup(d->key);
    if (!key)
        return krc_error_set(err, KRC_ENOMEM, "projection: out of memory");
    p->drops[p->ndrops].path = d->path;
    p->drops[p->ndrops].key = key;
    p->drops[p->ndrops].keylen = strlen(key);
    p->ndrops++;
    return 0;
}

size_t krc_projection_count(const struct krc_projection *p)
{
    return p->npaths;
}

const char *krc_projection_path(const struct krc_projection *p, size_t i)
{
    return i < p->npaths ? p->paths[i] : NULL;
}

/* ---- the object ---- */

enum strfield {
    S_NAME,
    S_NAMESPACE,
    S_UID,
    S_RV,
    S_DELETION,
    S_OWNER_UID,
    S_OWNER_KIND,
    S_OWNER_NAME,
    S_COUNT
};

/* Offsets are from the start of the object; 0 (the header) means absent. */
struct krc_object {
    atomic_uint refs;
    uint32_t size;
    long long generation;
    uint32_t str[S_COUNT];
    uint32_t labels; /* "key\0value\0" nlabels times */
    uint32_t nlabels;
    uint32_t npaths;
    struct {
        uint32_t off, len;
    } path[];
};

struct krc_object *krc_object_ref(struct krc_object *o)
{
    if (o)
        atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
    return o;
}

void krc_object_unref(struct krc_object *o)
{
    if (o && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
        free(o);
}

static const char *obj_str(const struct krc_object *o, enum strfield f, const char *absent)
{
    return o->str[f] ? (const char *)o + o->str[f] : absent;
}

const char *krc_object_name(const struct krc_object *o)
{
    return obj_str(o, S_NAME, "");
}

const char *krc_object_namespace(const struct krc_object *o)
{
    return obj_str(o, S_NAMESPACE, "");
}

const char *krc_object_uid(const struct krc_object *o)
{
    return obj_str(o, S_UID, "");
}

const char *krc_object_resource_version(const struct krc_object *o)
{
    return obj_str(o, S_RV, "");
}

long long krc_object_generation(const struct krc_object *o)
{
    return o->generation;
}

const char *krc_object_deletion_timestamp(const struct krc_object *o)
{
    return obj_str(o, S_DELETION, NULL);
}

const char *krc_object_controller_uid(const struct krc_object *o)
{
    return obj_str(o, S_OWNER_UID, NULL);
}

const char *krc_object_controller_kind(const struct krc_object *o)
{
    return obj_str(o, S_OWNER_KIND, NULL);
}

const char *krc_object_controller_name(const struct krc_object *o)
{
    return obj_str(o, S_OWNER_NAME, NULL);
}

const char *krc_object_label(const struct krc_object *o, const char *key)
{
    const char *s = (const char *)o + o->labels;
    for (uint32_t i = 0; i < o->nlabels; i++) {
        const char *v = s + strlen(s) + 1;
        if (strcmp(s, key) == 0)
            return v;
        s = v + strlen(v) + 1;
    }
    return NULL;
}

size_t krc_object_label_count(const struct krc_object *o)
{
    return o->nlabels;
}

int krc_object_label_at(const struct krc_object *o, size_t i, const char **key, const char **value)
{
    if (i >= o->nlabels)
        return KRC_EINVAL;
    const char *s = (const char *)o + o->labels;
    for (size_t j = 0; j < i; j++) {
        s += strlen(s) + 1;
        s += strlen(s) + 1;
    }
    *key = s;
    *value = s + strlen(s) + 1;
    return 0;
}

const char *krc_object_path(const struct krc_object *o, size_t i, size_t *len)
{
    if (i >= o->npaths || !o->path[i].off)
        return NULL;
    if (len)
        *len = o->path[i].len;
    return (const char *)o + o->path[i].off;
}

int krc_object_path_json(const struct krc_object *o, size_t i, json_t **out, struct krc_error *err)
{
    size_t len;
    const char *text = krc_object_path(o, i, &len);
    json_error_t je;

    *out = NULL;
    if (!text)
        return 0;
    *out = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (*out)
        return 0;
    return krc_error_set(
        err, json_error_code(&je) == json_error_out_of_memory ? KRC_ENOMEM : KRC_EINVAL,
        "path %zu of %s/%s: %s", i, krc_object_namespace(o), krc_object_name(o), je.text);
}

size_t krc_object_size(const struct krc_object *o)
{
    return o->size;
}

/* ---- the parser ---- */

enum role {
    R_NONE,
    R_LIST,      /* top of a List */
    R_LIST_META, /* its metadata */
    R_ITEMS,     /* its items array */
    R_EVENT,     /* one watch event */
    R_OBJ,       /* an object: list item, event object, or the top value */
    R_META,      /* an object's metadata */
    R_LABELS,
    R_OWNERREFS, /* the ownerReferences array */
    R_OWNERREF,  /* one of its elements */
};

enum field {
    F_NONE,
    F_STR, /* one of enum strfield, in slot.str */
    F_GENERATION,
    F_LIST_RV,
    F_LIST_CONTINUE,
    F_EVENT_TYPE,
    F_STATUS_CODE,
    F_STATUS_REASON,
    F_STATUS_MESSAGE,
    F_OREF_UID,
    F_OREF_KIND,
    F_OREF_NAME,
    F_OREF_CONTROLLER,
    F_LABEL, /* the value of the label whose key was just appended */
};

/* What a value is: its trie node, the role it plays if a container, the field it fills if a
 * scalar. */
struct slot {
    const struct pnode *node;
    unsigned char role;
    unsigned char field;
    unsigned char str;
};

struct frame {
    const struct pnode *node;
    unsigned char role;
    unsigned char is_array;
    unsigned char nonempty; /* for commas when re-serialising */
};

enum scalar { SC_STRING, SC_NUMBER, SC_TRUE, SC_FALSE, SC_NULL };

struct krc_projection_parser {
    const struct krc_projection *p;
    enum krc_projection_mode mode;
    krc_projection_item_fn on_item;
    krc_projection_event_fn on_event;
    void *ctx;
    yajl_handle yh;

    struct frame *stack;
    size_t depth;
    struct slot next; /* of the value after the last map key */
    long cap_frame;   /* frame index of the container being kept, or -1 */
    long skip_depth;  /* while >= 0: the depth of a dropped member's value; nothing is emitted */
    size_t cap_index; /* declared path being kept */
    size_t cap_start; /* its offset in json */

    /* the object being built */
    struct krc_strbuf strs; /* fixed strings, each NUL-terminated */
    size_t str_off[S_COUNT];
    size_t str_len[S_COUNT];
    size_t oref_off[3], oref_len[3]; /* uid, kind, name of the current ownerReference */
    int oref_controller;
    long long generation;
    struct krc_strbuf labels;
    size_t nlabels;
    size_t label_key_start;
    struct krc_strbuf json; /* kept values, each NUL-terminated */
    size_t *path_off;       /* npaths entries; NONE when absent */
    size_t *path_len;

    /* the watch event being read */
    int ev_has_type;
    enum krc_watch_type ev_type;
    struct krc_object *ev_obj;
    int ev_code;
    struct krc_strbuf ev_reason, ev_message;

    struct krc_strbuf list_rv, list_continue;
    struct krc_object *result;

    size_t offset; /* bytes fed before the current slice */
    size_t quiet;  /* bytes fed since a token last ended (slice granularity) */
    int saw_token; /* a callback ran during the current slice */
    int any_input; /* a byte other than whitespace was fed (scanned only until it is) */
    int failed;    /* sticky error code, 0 while healthy */
    struct krc_error err;
};

static size_t parser_pos(const struct krc_projection_parser *ps)
{
    return ps->offset + (ps->yh ? yajl_get_bytes_consumed(ps->yh) : 0);
}

/* Records the first failure (code and message with the byte offset) and returns 0, the value a
 * yajl callback returns to stop the parse. */
__attribute__((format(printf, 3, 4))) static int fail(struct krc_projection_parser *ps, int code,
                                                      const char *fmt, ...)
{
    char msg[KRC_ERROR_MSG_MAX];
    va_list ap;

    if (ps->failed)
        return 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    krc_error_set(&ps->err, code, "%s at byte %zu", msg, parser_pos(ps));
    ps->failed = code;
    return 0;
}

static int fail_buf(struct krc_projection_parser *ps, int rc, const char *what)
{
    if (rc == KRC_ENOMEM)
        return fail(ps, KRC_ENOMEM, "projection: out of memory keeping %s", what);
    return fail(ps, rc, "projection: %s over %zu bytes", what, ps->p->limits.max_value);
}

static void object_reset(struct krc_projection_parser *ps)
{
    ps->skip_depth = -1;
    krc_strbuf_reset(&ps->strs);
    krc_strbuf_reset(&ps->labels);
    krc_strbuf_reset(&ps->json);
    for (int i = 0; i < S_COUNT; i++)
        ps->str_off[i] = NONE;
    for (size_t i = 0; i < ps->p->npaths; i++)
        ps->path_off[i] = NONE;
    ps->nlabels = 0;
    ps->generation = 0;
}

static void event_reset(struct krc_projection_parser *ps)
{
    ps->ev_has_type = 0;
    krc_object_unref(ps->ev_obj);
    ps->ev_obj = NULL;
    ps->ev_code = 0;
    krc_strbuf_reset(&ps->ev_reason);
    krc_strbuf_reset(&ps->ev_message);
}

/* ---- re-serialising kept values ---- */

static int emit(struct krc_projection_parser *ps, const char *s, size_t len)
{
    if (ps->skip_depth >= 0)
        return 1;
    int rc = krc_strbuf_add(&ps->json, s, len);
    if (rc == 0 && ps->json.len - ps->cap_start > ps->p->limits.max_value)
        rc = KRC_ETOOLARGE;
    if (rc < 0)
        return fail_buf(ps, rc, ps->p->paths[ps->cap_index]);
    return 1;
}

static int emit_string(struct krc_projection_parser *ps, const unsigned char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    if (!emit(ps, "\"", 1))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            if (c >= 0x20)
                continue;
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        if ((i > run && !emit(ps, (const char *)s + run, i - run)) || !emit(ps, esc, n))
            return 0;
        run = i + 1;
    }
    if (len > run && !emit(ps, (const char *)s + run, len - run))
        return 0;
    return emit(ps, "\"", 1);
}

static int capture_end(struct krc_projection_parser *ps)
{
    size_t len = ps->json.len - ps->cap_start;
    int rc = krc_strbuf_addch(&ps->json, '\0');
    if (rc < 0)
        return fail_buf(ps, rc, ps->p->paths[ps->cap_index]);
    ps->path_off[ps->cap_index] = ps->cap_start;
    ps->path_len[ps->cap_index] = len;
    ps->cap_frame = -1;
    ps->skip_depth = -1;
    return 1;
}

/* ---- building ---- */

static int build_object(struct krc_projection_parser *ps, struct krc_object **out)
{
    size_t np = ps->p->npaths;
    size_t size = sizeof(struct krc_object) + np * sizeof(((struct krc_object *)0)->path[0]);
    struct krc_object *o;
    char *base;

    for (int i = 0; i < S_COUNT; i++)
        if (ps->str_off[i] != NONE)
            size += ps->str_len[i] + 1;
    size += ps->labels.len;
    for (size_t i = 0; i < np; i++)
        if (ps->path_off[i] != NONE)
            size += ps->path_len[i] + 1;
    if (size > UINT32_MAX)
        return fail(ps, KRC_ETOOLARGE, "projection: object of %zu bytes", size);
    o = malloc(size);
    if (!o)
        return fail(ps, KRC_ENOMEM, "projection: out of memory for an object of %zu bytes", size);
    base = (char *)o;
    atomic_init(&o->refs, 1);
    o->size = (uint32_t)size;
    o->generation = ps->generation;
    o->npaths = (uint32_t)np;
    o->nlabels = (uint32_t)ps->nlabels;
    size = sizeof(struct krc_object) + np * sizeof(o->path[0]);
    for (int i = 0; i < S_COUNT; i++) {
        o->str[i] = 0;
        if (ps->str_off[i] == NONE)
            continue;
        o->str[i] = (uint32_t)size;
        memcpy(base + size, ps->strs.buf + ps->str_off[i], ps->str_len[i] + 1);
        size += ps->str_len[i] + 1;
    }
    o->labels = (uint32_t)size;
    memcpy(base + size, ps->labels.buf, ps->labels.len);
    size += ps->labels.len;
    for (size_t i = 0; i < np; i++) {
        o->path[i].off = o->path[i].len = 0;
        if (ps->path_off[i] == NONE)
            continue;
        o->path[i].off = (uint32_t)size;
        o->path[i].len = (uint32_t)ps->path_len[i];
        memcpy(base + size, ps->json.buf + ps->path_off[i], ps->path_len[i] + 1);
        size += ps->path_len[i] + 1;
    }
    *out = o;
    return 1;
}

static int finish_object(struct krc_projection_parser *ps)
{
    struct krc_object *o = NULL;
    int rc;

    if (!build_object(ps, &o))
        return 0;
    switch (ps->mode) {
    case KRC_PROJECTION_OBJECT:
        krc_object_unref(ps->result);
        ps->result = o;
        return 1;
    case KRC_PROJECTION_WATCH:
        krc_object_unref(ps->ev_obj);
        ps->ev_obj = o;
        return 1;
    case KRC_PROJECTION_LIST:
        break;
    }
    krc_error_clear(&ps->err);
    rc = ps->on_item(ps->ctx, o, &ps->err);
    if (rc < 0) {
        if (!ps->err.msg[0])
            krc_error_set(&ps->err, rc, "list item handler failed: %s", krc_strerror(rc));
        ps->err.code = rc;
        ps->failed = rc;
        return 0;
    }
    return 1;
}

static int finish_event(struct krc_projection_parser *ps)
{
    struct krc_watch_event ev = {0};
    int rc;

    if (!ps->ev_has_type)
        return fail(ps, KRC_EINVAL, "watch event without a type");
    ev.type = ps->ev_type;
    if (ev.type == KRC_WATCH_ERROR) {
        ev.code = ps->ev_code;
        ev.reason = ps->ev_reason.buf;
        ev.message = ps->ev_message.buf;
    } else {
        if (!ps->ev_obj)
            return fail(ps, KRC_EINVAL, "watch event without an object");
        ev.object = ps->ev_obj;
        ps->ev_obj = NULL;
    }
    krc_error_clear(&ps->err);
    rc = ps->on_event(ps->ctx, &ev, &ps->err);
    event_reset(ps);
    if (rc < 0) {
        if (!ps->err.msg[0])
            krc_error_set(&ps->err, rc, "watch event handler failed: %s", krc_strerror(rc));
        ps->err.code = rc;
        ps->failed = rc;
        return 0;
    }
    return 1;
}

/* Appends a string field to strs and records where it is. */
static int keep_str(struct krc_projection_parser *ps, size_t *off, size_t *len,
                    const unsigned char *s, size_t n, const char *what)
{
    int rc;

    if (memchr(s, '\0', n))
        return fail(ps, KRC_EINVAL, "projection: %s contains a NUL character", what);
    *off = ps->strs.len;
    rc = krc_strbuf_add(&ps->strs, s, n);
    if (rc == 0)
        rc = krc_strbuf_addch(&ps->strs, '\0');
    if (rc < 0)
        return fail_buf(ps, rc, what);
    *len = n;
    return 1;
}

static int set_capped(struct krc_strbuf *sb, const unsigned char *s, size_t n, size_t max)
{
    krc_strbuf_reset(sb);
    return krc_strbuf_add(sb, s, n < max ? n : max);
}

static int parse_ll(const unsigned char *s, size_t n, long long *out)
{
    char buf[32];
    char *end;

    if (n == 0 || n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return errno == 0 && *end == '\0';
}

static const char *const str_names[S_COUNT] = {
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.resourceVersion",
    "metadata.deletionTimestamp",
    "ownerReferences uid",
    "ownerReferences kind",
    "ownerReferences name",
};

/* Fills the field a scalar value belongs to; values of the wrong type are ignored (a null
 * deletionTimestamp is no deletionTimestamp). */
static int store_scalar(struct krc_projection_parser *ps, const struct slot *sl, enum scalar kind,
                        const unsigned char *s, size_t n)
{
    static const char *const types[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    long long v;
    int rc = 0;

    if (sl->field == F_LABEL) {
        if (kind != SC_STRING || memchr(s, '\0', n)) {
            ps->labels.len = ps->label_key_start; /* drop the key */
            ps->labels.buf[ps->labels.len] = '\0';
            return 1;
        }
        rc = krc_strbuf_add(&ps->labels, s, n);
        if (rc == 0)
            rc = krc_strbuf_addch(&ps->labels, '\0');
        if (rc < 0)
            return fail_buf(ps, rc, "metadata.labels");
        ps->nlabels++;
        return 1;
    }
    if (kind == SC_NUMBER) {
        if (sl->field == F_GENERATION && parse_ll(s, n, &v))
            ps->generation = v;
        else if (sl->field == F_STATUS_CODE && parse_ll(s, n, &v) && v >= 0 && v <= 999)
            ps->ev_code = (int)v;
        return 1;
    }
    if (kind == SC_TRUE || kind == SC_FALSE) {
        if (sl->field == F_OREF_CONTROLLER)
            ps->oref_controller = kind == SC_TRUE;
        return 1;
    }
    if (kind != SC_STRING)
        return 1;
    switch (sl->field) {
    case F_STR:
        return keep_str(ps, &ps->str_off[sl->str], &ps->str_len[sl->str], s, n, str_names[sl->str]);
    case F_OREF_UID:
    case F_OREF_KIND:
    case F_OREF_NAME: {
        int i = sl->field - F_OREF_UID;
        return keep_str(ps, &ps->oref_off[i], &ps->oref_len[i], s, n, str_names[S_OWNER_UID + i]);
    }
    case F_LIST_RV:
        rc = set_capped(&ps->list_rv, s, n, ps->p->limits.max_value);
        break;
    case F_LIST_CONTINUE:
        rc = set_capped(&ps->list_continue, s, n, ps->p->limits.max_value);
        break;
    case F_STATUS_REASON:
        rc = set_capped(&ps->ev_reason, s, n, STATUS_TEXT_MAX);
        break;
    case F_STATUS_MESSAGE:
        rc = set_capped(&ps->ev_message, s, n, STATUS_TEXT_MAX);
        break;
    case F_EVENT_TYPE:
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strlen(types[i]) == n && memcmp(types[i], s, n) == 0) {
                ps->ev_type = (enum krc_watch_type)i;
                ps->ev_has_type = 1;
                return 1;
            }
        }
        return fail(ps, KRC_EINVAL, "watch event of unknown type \"%.*s\"", (int)(n < 32 ? n : 32),
                    (const char *)s);
    default:
        return 1;
    }
    if (rc < 0)
        return fail_buf(ps, rc, "list or status metadata");
    return 1;
}

/* ---- the SAX state machine ---- */

static int key_is(const unsigned char *key, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(key, lit, len) == 0;
}

/* The slot of the value after key in map frame f. */
static int key_slot(struct krc_projection_parser *ps, const struct frame *f,
                    const unsigned char *key, size_t len, struct slot *sl)
{
    static const struct {
        const char *key;
        enum strfield str;
    } meta_str[] = {
        {"name", S_NAME},          {"namespace", S_NAMESPACE},        {"uid", S_UID},
        {"resourceVersion", S_RV}, {"deletionTimestamp", S_DELETION},
    };
    int rc;

    memset(sl, 0, sizeof(*sl));
    if (f->node)
        sl->node = pnode_child(f->node, (const char *)key, len);
    switch (f->role) {
    case R_LIST:
        if (key_is(key, len, "metadata"))
            sl->role = R_LIST_META;
        else if (key_is(key, len, "items"))
            sl->role = R_ITEMS;
        break;
    case R_LIST_META:
        if (key_is(key, len, "resourceVersion"))
            sl->field = F_LIST_RV;
        else if (key_is(key, len, "continue"))
            sl->field = F_LIST_CONTINUE;
        break;
    case R_EVENT:
        if (key_is(key, len, "type")) {
            sl->field = F_EVENT_TYPE;
        } else if (key_is(key, len, "object")) {
            sl->role = R_OBJ;
            sl->node = &ps->p->root;
        }
        break;
    case R_OBJ:
        if (key_is(key, len, "metadata"))
            sl->role = R_META;
        else if (ps->mode == KRC_PROJECTION_WATCH && key_is(key, len, "code"))
            sl->field = F_STATUS_CODE;
        else if (ps->mode == KRC_PROJECTION_WATCH && key_is(key, len, "reason"))
            sl->field = F_STATUS_REASON;
        else if (ps->mode == KRC_PROJECTION_WATCH && key_is(key, len, "message"))
            sl->field = F_STATUS_MESSAGE;
        break;
    case R_META:
        for (size_t i = 0; i < sizeof(meta_str) / sizeof(meta_str[0]); i++) {
            if (key_is(key, len, meta_str[i].key)) {
                sl->field = F_STR;
                sl->str = (unsigned char)meta_str[i].str;
            }
        }
        if (key_is(key, len, "generation"))
            sl->field = F_GENERATION;
        else if (key_is(key, len, "labels"))
            sl->role = R_LABELS;
        else if (key_is(key, len, "ownerReferences"))
            sl->role = R_OWNERREFS;
        break;
    case R_LABELS:
        if (memchr(key, '\0', len))
            break;
        ps->label_key_start = ps->labels.len;
        rc = krc_strbuf_add(&ps->labels, key, len);
        if (rc == 0)
            rc = krc_strbuf_addch(&ps->labels, '\0');
        if (rc < 0)
            return fail_buf(ps, rc, "metadata.labels");
        sl->field = F_LABEL;
        break;
    case R_OWNERREF:
        if (key_is(key, len, "uid"))
            sl->field = F_OREF_UID;
        else if (key_is(key, len, "kind"))
            sl->field = F_OREF_KIND;
        else if (key_is(key, len, "name"))
            sl->field = F_OREF_NAME;
        else if (key_is(key, len, "controller"))
            sl->field = F_OREF_CONTROLLER;
        break;
    default:
        break;
    }
    return 1;
}

/* The slot of the value that starts now, and, inside a kept value, the comma before it. */
static int value_begin(struct krc_projection_parser *ps, struct slot *sl, int *starts_capture)
{
    static const unsigned char top_role[] = {
        [KRC_PROJECTION_OBJECT] = R_OBJ,
        [KRC_PROJECTION_LIST] = R_LIST,
        [KRC_PROJECTION_WATCH] = R_EVENT,
    };

    ps->saw_token = 1;
    *starts_capture = 0;
    memset(sl, 0, sizeof(*sl));
    if (ps->depth == 0) {
        sl->role = top_role[ps->mode];
        sl->node = sl->role == R_OBJ ? &ps->p->root : NULL;
    } else if (ps->stack[ps->depth - 1].is_array) {
        struct frame *f = &ps->stack[ps->depth - 1];
        if (f->role == R_ITEMS) {
            sl->role = R_OBJ;
            sl->node = &ps->p->root;
        } else if (f->role == R_OWNERREFS) {
            sl->role = R_OWNERREF;
        }
        if (ps->cap_frame >= 0) {
            if (f->nonempty && !emit(ps, ",", 1))
                return 0;
            f->nonempty = 1;
        }
    } else {
        *sl = ps->next;
        memset(&ps->next, 0, sizeof(ps->next));
    }
    if (ps->cap_frame < 0 && sl->node && sl->node->leaf >= 0) {
        *starts_capture = 1;
        ps->cap_index = (size_t)sl->node->leaf;
        ps->cap_start = ps->json.len;
    }
    return 1;
}

static int on_scalar(struct krc_projection_parser *ps, enum scalar kind, const unsigned char *s,
                     size_t n)
{
    static const char *const lit[] = {[SC_TRUE] = "true", [SC_FALSE] = "false", [SC_NULL] = "null"};
    struct slot sl;
    int starts;

    if (!value_begin(ps, &sl, &starts))
        return 0;
    if (sl.role == R_OBJ || sl.role == R_LIST || sl.role == R_EVENT || sl.role == R_ITEMS)
        return fail(ps, KRC_EINVAL, "malformed response: expected %s, found a scalar",
                    sl.role == R_ITEMS ? "an array" : "an object");
    if (ps->cap_frame >= 0 || starts) {
        int ok = kind == SC_STRING   ? emit_string(ps, s, n)
                 : kind == SC_NUMBER ? emit(ps, (const char *)s, n)
                                     : emit(ps, lit[kind], strlen(lit[kind]));
        if (!ok || (starts && !capture_end(ps)))
            return 0;
        if (ps->skip_depth == (long)ps->depth) /* the dropped member was this scalar */
            ps->skip_depth = -1;
    }
    return store_scalar(ps, &sl, kind, s, n);
}

static int cb_null(void *ctx)
{
    return on_scalar(ctx, SC_NULL, NULL, 0);
}

static int cb_boolean(void *ctx, int v)
{
    return on_scalar(ctx, v ? SC_TRUE : SC_FALSE, NULL, 0);
}

static int cb_number(void *ctx, const char *s, size_t n)
{
    return on_scalar(ctx, SC_NUMBER, (const unsigned char *)s, n);
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
    return on_scalar(ctx, SC_STRING, s, n);
}

static int on_start(struct krc_projection_parser *ps, int is_array)
{
    struct slot sl;
    struct frame *f;
    int starts;

    if (!value_begin(ps, &sl, &starts))
        return 0;
    if (ps->depth >= ps->p->limits.max_depth)
        return fail(ps, KRC_ETOOLARGE, "projection: JSON nested deeper than %zu levels",
                    ps->p->limits.max_depth);
    if ((sl.role == R_ITEMS) != is_array &&
        (sl.role == R_OBJ || sl.role == R_LIST || sl.role == R_EVENT || sl.role == R_ITEMS))
        return fail(ps, KRC_EINVAL, "malformed response: expected %s, found %s",
                    sl.role == R_ITEMS ? "an array" : "an object",
                    is_array ? "an array" : "an object");
    if (sl.field == F_LABEL) { /* a label value that is not a string: drop the key */
        ps->labels.len = ps->label_key_start;
        ps->labels.buf[ps->labels.len] = '\0';
    }
    if ((ps->cap_frame >= 0 || starts) && !emit(ps, is_array ? "[" : "{", 1))
        return 0;
    f = &ps->stack[ps->depth];
    f->node = is_array ? NULL : sl.node;
    f->role = sl.role;
    f->is_array = (unsigned char)is_array;
    f->nonempty = 0;
    if (is_array ? (sl.role != R_ITEMS && sl.role != R_OWNERREFS) : sl.role == R_OWNERREFS)
        f->role = R_NONE;
    if (starts)
        ps->cap_frame = (long)ps->depth;
    ps->depth++;
    switch (f->role) {
    case R_OBJ:
        object_reset(ps);
        break;
    case R_EVENT:
        event_reset(ps);
        break;
    case R_LABELS:
        krc_strbuf_reset(&ps->labels);
        ps->nlabels = 0;
        break;
    case R_OWNERREF:
        for (int i = 0; i < 3; i++)
            ps->oref_off[i] = NONE;
        ps->oref_controller = 0;
        break;
    default:
        break;
    }
    return 1;
}

static int cb_start_map(void *ctx)
{
    return on_start(ctx, 0);
}

static int cb_start_array(void *ctx)
{
    return on_start(ctx, 1);
}

/* Whether key is a member dropped from the value being kept (krc_projection_drop_member). */
static bool dropped(const struct krc_projection_parser *ps, const unsigned char *key, size_t len)
{
    for (size_t i = 0; i < ps->p->ndrops; i++) {
        if (ps->p->drops[i].path == ps->cap_index && ps->p->drops[i].keylen == len &&
            memcmp(ps->p->drops[i].key, key, len) == 0)
            return true;
    }
    return false;
}

static int cb_map_key(void *ctx, const unsigned char *key, size_t len)
{
    struct krc_projection_parser *ps = ctx;
    struct frame *f = &ps->stack[ps->depth - 1];

    ps->saw_token = 1;
    if (ps->cap_frame >= 0) {
        if (ps->skip_depth < 0 && ps->cap_frame == (long)ps->depth - 1 && dropped(ps, key, len)) {
            ps->skip_depth = (long)ps->depth; /* no comma, no key, and no value follows */
            return key_slot(ps, f, key, len, &ps->next);
        }
        if (f->nonempty && !emit(ps, ",", 1))
            return 0;
        f->nonempty = 1;
        if (!emit_string(ps, key, len) || !emit(ps, ":", 1))
            return 0;
    }
    return key_slot(ps, f, key, len, &ps->next);
}

static int on_end(struct krc_projection_parser *ps)
{
    struct frame f = ps->stack[--ps->depth];

    ps->saw_token = 1;
    if (ps->cap_frame >= 0) {
        if (!emit(ps, f.is_array ? "]" : "}", 1))
            return 0;
        if (ps->skip_depth == (long)ps->depth) /* the dropped member was this container */
            ps->skip_depth = -1;
        if (ps->cap_frame == (long)ps->depth && !capture_end(ps))
            return 0;
    }
    switch (f.role) {
    case R_OBJ:
        return finish_object(ps);
    case R_EVENT:
        return finish_event(ps);
    case R_OWNERREF:
        if (ps->oref_controller && ps->oref_off[0] != NONE) {
            for (int i = 0; i < 3; i++) {
                ps->str_off[S_OWNER_UID + i] = ps->oref_off[i];
                ps->str_len[S_OWNER_UID + i] = ps->oref_len[i];
            }
        }
        return 1;
    default:
        return 1;
    }
}

static int cb_end(void *ctx)
{
    return on_end(ctx);
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_boolean,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

/* ---- the parser's life cycle ---- */

static int open_yajl(struct krc_projection_parser *ps, struct krc_error *err)
{
    if (ps->yh)
        yajl_free(ps->yh);
    ps->yh = yajl_alloc(&callbacks, NULL, ps);
    if (!ps->yh)
        return krc_error_set(err, KRC_ENOMEM, "projection: out of memory for the JSON parser");
    if (ps->mode == KRC_PROJECTION_WATCH && !yajl_config(ps->yh, yajl_allow_multiple_values, 1))
        return krc_error_set(err, KRC_EINVAL, "projection: yajl rejected multiple values");
    return 0;
}

int krc_projection_parser_new(const struct krc_projection *p, enum krc_projection_mode mode,
                              krc_projection_item_fn on_item, krc_projection_event_fn on_event,
                              void *ctx, struct krc_projection_parser **out, struct krc_error *err)
{
    struct krc_projection_parser *ps;
    size_t max = p->limits.max_value;
    int rc;

    *out = NULL;
    if ((mode == KRC_PROJECTION_LIST && !on_item) || (mode == KRC_PROJECTION_WATCH && !on_event) ||
        mode > KRC_PROJECTION_WATCH)
        return krc_error_set(err, KRC_EINVAL, "projection parser: mode %d without its callback",
                             (int)mode);
    ps = calloc(1, sizeof(*ps));
    if (!ps)
        return krc_error_set(err, KRC_ENOMEM, "projection parser: out of memory");
    ps->p = p;
    ps->mode = mode;
    ps->on_item = on_item;
    ps->on_event = on_event;
    ps->ctx = ctx;
    ps->cap_frame = -1;
    krc_strbuf_init(&ps->strs, max);
    krc_strbuf_init(&ps->labels, max);
    /* each kept value is checked against max on its own; this bounds their sum */
    krc_strbuf_init(&ps->json, (p->npaths ? p->npaths : 1) * (max + 1));
    krc_strbuf_init(&ps->ev_reason, 0);
    krc_strbuf_init(&ps->ev_message, 0);
    krc_strbuf_init(&ps->list_rv, 0);
    krc_strbuf_init(&ps->list_continue, 0);
    ps->stack = calloc(p->limits.max_depth, sizeof(*ps->stack));
    ps->path_off = calloc(p->npaths ? p->npaths : 1, sizeof(*ps->path_off));
    ps->path_len = calloc(p->npaths ? p->npaths : 1, sizeof(*ps->path_len));
    if (!ps->stack || !ps->path_off || !ps->path_len) {
        rc = krc_error_set(err, KRC_ENOMEM, "projection parser: out of memory");
        goto err;
    }
    object_reset(ps);
    rc = open_yajl(ps, err);
    if (rc < 0)
        goto err;
    *out = ps;
    return 0;
err:
    krc_projection_parser_free(ps);
    return rc;
}

void krc_projection_parser_free(struct krc_projection_parser *ps)
{
    if (!ps)
        return;
    if (ps->yh)
        yajl_free(ps->yh);
    krc_strbuf_release(&ps->strs);
    krc_strbuf_release(&ps->labels);
    krc_strbuf_release(&ps->json);
    krc_strbuf_release(&ps->ev_reason);
    krc_strbuf_release(&ps->ev_message);
    krc_strbuf_release(&ps->list_rv);
    krc_strbuf_release(&ps->list_continue);
    krc_object_unref(ps->ev_obj);
    krc_object_unref(ps->result);
    free(ps->stack);
    free(ps->path_off);
    free(ps->path_len);
    free(ps);
}

int krc_projection_parser_reset(struct krc_projection_parser *ps, struct krc_error *err)
{
    ps->depth = 0;
    ps->cap_frame = -1;
    memset(&ps->next, 0, sizeof(ps->next));
    object_reset(ps);
    event_reset(ps);
    krc_strbuf_reset(&ps->list_rv);
    krc_strbuf_reset(&ps->list_continue);
    krc_object_unref(ps->result);
    ps->result = NULL;
    ps->offset = 0;
    ps->quiet = 0;
    ps->any_input = 0;
    ps->failed = 0;
    krc_error_clear(&ps->err);
    return open_yajl(ps, err);
}

/* Turns a yajl failure into the parser's sticky error. */
static int yajl_failure(struct krc_projection_parser *ps, yajl_status st, int at_end)
{
    if (st == yajl_status_client_canceled && ps->failed)
        return ps->failed;
    unsigned char *m = yajl_get_error(ps->yh, 0, NULL, 0);
    char *text = m ? (char *)m : NULL;
    size_t n = text ? strlen(text) : 0;
    while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    /* at the end, yajl has parsed one byte of its own (a space) past the input */
    krc_error_set(&ps->err, KRC_EINVAL, "malformed JSON at byte %zu: %s",
                  at_end ? ps->offset : parser_pos(ps), n ? text : "parse error");
    if (m)
        yajl_free_error(ps->yh, m);
    ps->failed = KRC_EINVAL;
    return KRC_EINVAL;
}

static int copy_error(const struct krc_projection_parser *ps, struct krc_error *err)
{
    if (err)
        *err = ps->err;
    return ps->failed;
}

int krc_projection_parser_feed(struct krc_projection_parser *ps, const char *data, size_t len,
                               struct krc_error *err)
{
    while (!ps->failed && len) {
        size_t n = len < SLICE ? len : SLICE;
        yajl_status st;

        for (size_t i = 0; !ps->any_input && i < n; i++)
            ps->any_input = !strchr(" \t\r\n", data[i]);
        ps->saw_token = 0;
        st = yajl_parse(ps->yh, (const unsigned char *)data, n);
        if (st != yajl_status_ok) {
            yajl_failure(ps, st, 0);
            break;
        }
        ps->offset += n;
        ps->quiet = ps->saw_token ? 0 : ps->quiet + n;
        if (ps->quiet > ps->p->limits.max_value) {
            krc_error_set(&ps->err, KRC_ETOOLARGE,
                          "projection: a JSON token longer than %zu bytes at byte %zu",
                          ps->p->limits.max_value, ps->offset);
            ps->failed = KRC_ETOOLARGE;
        }
        data += n;
        len -= n;
    }
    return ps->failed ? copy_error(ps, err) : 0;
}

int krc_projection_parser_finish(struct krc_projection_parser *ps, struct krc_error *err)
{
    yajl_status st;

    if (ps->failed)
        return copy_error(ps, err);
    /* yajl calls input without any value a premature EOF; a watch stream may end before its
     * first event (a quiet server timeout) */
    if (ps->mode == KRC_PROJECTION_WATCH && !ps->any_input)
        return 0;
    st = yajl_complete_parse(ps->yh);
    if (st != yajl_status_ok) {
        yajl_failure(ps, st, 1);
        return copy_error(ps, err);
    }
    if (ps->mode == KRC_PROJECTION_OBJECT && !ps->result) {
        krc_error_set(&ps->err, KRC_EINVAL, "malformed response: no object");
        ps->failed = KRC_EINVAL;
        return copy_error(ps, err);
    }
    return 0;
}

struct krc_object *krc_projection_parser_take(struct krc_projection_parser *ps)
{
    struct krc_object *o = ps->result;
    ps->result = NULL;
    return o;
}

const char *krc_projection_parser_list_resource_version(const struct krc_projection_parser *ps)
{
    return ps->list_rv.buf;
}

const char *krc_projection_parser_list_continue(const struct krc_projection_parser *ps)
{
    return ps->list_continue.buf;
}

size_t krc_projection_parser_offset(const struct krc_projection_parser *ps)
{
    return ps->offset;
}

int krc_projection_parse_object(const struct krc_projection *p, const char *json, size_t len,
                                struct krc_object **out, struct krc_error *err)
{
    struct krc_projection_parser *ps = NULL;
    int rc;

    *out = NULL;
    rc = krc_projection_parser_new(p, KRC_PROJECTION_OBJECT, NULL, NULL, NULL, &ps, err);
    if (rc < 0)
        return rc;
    rc = krc_projection_parser_feed(ps, json, len, err);
    if (rc == 0)
        rc = krc_projection_parser_finish(ps, err);
    if (rc == 0)
        *out = krc_projection_parser_take(ps);
    krc_projection_parser_free(ps);
    return rc;
}
