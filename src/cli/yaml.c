/* yaml.c - YAML text as gopkg.in/yaml.v2's Marshal writes a generic map (the dry-run output of
 * `create cluster` and `job submit`, spec kubectl-ray.md §3).
 *
 * The layout: 2-space indentation, sequence items ("- ") at the column of their parent key, empty
 * maps and sequences as {} and [], mapping keys in go-yaml's "natural" order (letters after
 * other characters, runs of digits compared by value, otherwise byte order; plain ASCII order
 * for the keys KubeRay objects use). Strings are plain unless a plain scalar would read back as
 * something else: those that YAML 1.1 resolves to a number, boolean or null ("2", "yes", "",
 * "1:20") are double-quoted, those that cannot be plain at all (leading indicator, ": ", " #",
 * surrounding spaces) single-quoted, and multi-line ones use a literal block.
 * Long plain values are folded as go-yaml v2.4 folds them: at a single space once the line is past
 * 80 columns, continuing one level deeper. Known gap: quoted values are never folded (go-yaml
 * folds those too); they read back the same either way. */
#include "cli/cli.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INDENT_STEP 2
#define BEST_WIDTH  80 /* go-yaml's default line width */

static int is_letter(unsigned char c)
{
    return isalpha(c) || c >= 0x80; /* non-ASCII bytes: unicode letters in practice */
}

/* go-yaml v2's key order (sorter.go's keyList.Less), over bytes. */
static int natural_less(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    for (size_t i = 0; i < la && i < lb; i++) {
        unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[i];
        if (ca == cb)
            continue;
        int al = is_letter(ca), bl = is_letter(cb);
        if (al && bl)
            return ca < cb;
        if (al || bl)
            return bl;
        long long an = 0, bn = 0;
        size_t ai, bi;
        if (ca == '0' || cb == '0') {
            for (size_t j = i; j-- > 0 && isdigit((unsigned char)a[j]);) {
                if (a[j] != '0') {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        for (ai = i; ai < la && isdigit((unsigned char)a[ai]); ai++)
            an = an * 10 + (a[ai] - '0');
        for (bi = i; bi < lb && isdigit((unsigned char)b[bi]); bi++)
            bn = bn * 10 + (b[bi] - '0');
        if (an != bn)
            return an < bn;
        if (ai != bi)
            return ai < bi;
        return ca < cb;
    }
    return la < lb;
}

static int cmp_keys(const void *x, const void *y)
{
    const char *a = *(const char *const *)x, *b = *(const char *const *)y;
    if (natural_less(a, b))
        return -1;
    return natural_less(b, a) ? 1 : 0;
}

static int is_base60_float(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p) || *p == '_')
        p++;
    int groups = 0;
    while (*p == ':') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        if (isdigit((unsigned char)p[1])) {
            if (*p > '5')
                return 0;
            p++;
        }
        p++;
        groups++;
    }
    if (!groups)
        return 0;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p) || *p == '_')
            p++;
    }
    return *p == '\0';
}

/* Would go-yaml v2 resolve this plain scalar to something other than a string? */
static int resolves_to_non_string(const char *s)
{
    static const char *const words[] = {
        "",      "~",     "null",  "Null",  "NULL",  "y",     "Y",    "yes",  "Yes",   "YES",
        "n",     "N",     "no",    "No",    "NO",    "true",  "True", "TRUE", "false", "False",
        "FALSE", "on",    "On",    "ON",    "off",   "Off",   "OFF",  ".inf", ".Inf",  ".INF",
        "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",  "<<"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(s, words[i]) == 0)
            return 1;
    if (!strchr("+-.0123456789", s[0]))
        return 0;
    if (is_base60_float(s))
        return 1;
    /* A date prefix resolves to a timestamp. */
    if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
        isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '-' &&
        isdigit((unsigned char)s[5]))
        return 1;
    size_t n = strlen(s);
    char *plain = malloc(n + 1);
    if (!plain)
        return 1; /* quoting is always safe */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_')
            plain[k++] = s[i];
    plain[k] = '\0';
    int numeric = 0;
    const char *p = plain + (plain[0] == '+' || plain[0] == '-');
    if (p[0] == '0' && (p[1] == 'b' || p[1] == 'o') && p[2]) {
        const char *digits = p[1] == 'b' ? "01" : "01234567";
        numeric = strspn(p + 2, digits) == strlen(p + 2);
    } else if (k > 0) {
        char *end = NULL;
        (void)strtod(plain, &end);
        numeric = end && *end == '\0' && end != plain;
    }
    free(plain);
    return numeric;
}

/* Can this single-line string be written plain in block context (libyaml's analysis)? */
static int plain_allowed(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return 0;
    if (n >= 3 && (strncmp(s, "---", 3) == 0 || strncmp(s, "...", 3) == 0))
        return 0;
    if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int next_blank = s[i + 1] == '\0' || s[i + 1] == ' ' || s[i + 1] == '\t';
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (i == 0) {
            if (strchr("#,[]{}&*!|>'\"%@`", c))
                return 0;
            if ((c == '?' || c == ':' || c == '-') && next_blank)
                return 0;
        } else {
            if (c == ':' && next_blank)
                return 0;
            if (c == '#' && (s[i - 1] == ' ' || s[i - 1] == '\t'))
                return 0;
        }
    }
    return 1;
}

static int add_indent(struct krc_strbuf *out, int indent)
{
    for (int i = 0; i < indent; i++)
        if (krc_strbuf_addch(out, ' ') != 0)
            return KRC_ENOMEM;
    return 0;
}

static int emit_double_quoted(const char *s, struct krc_strbuf *out)
{
    int rc = krc_strbuf_addch(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; rc == 0 && *p; p++) {
        switch (*p) {
        case '"':
            rc = krc_strbuf_adds(out, "\\\"");
            break;
        case '\\':
            rc = krc_strbuf_adds(out, "\\\\");
            break;
        case '\t':
            rc = krc_strbuf_adds(out, "\\t");
            break;
        case '\n':
            rc = krc_strbuf_adds(out, "\\n");
            break;
        case '\r':
            rc = krc_strbuf_adds(out, "\\r");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                rc = krc_strbuf_addf(out, "\\x%02X", *p);
            else
                rc = krc_strbuf_addch(out, (char)*p);
        }
    }
    return rc ? rc : krc_strbuf_addch(out, '"');
}

/* A plain scalar, folded at spaces past BEST_WIDTH (libyaml's write_plain_scalar). Columns count
 * characters, not bytes. */
static int write_plain(const char *s, int indent, bool fold, struct krc_strbuf *out)
{
    size_t start = out->len, column = 0;
    while (start > 0 && out->buf[start - 1] != '\n')
        start--;
    for (size_t i = start; i < out->len; i++)
        column += ((unsigned char)out->buf[i] & 0xC0) != 0x80;
    bool spaces = false;
    int rc = 0;
    for (const char *p = s; *p && rc == 0; p++) {
        if (*p == ' ') {
            if (fold && !spaces && column > BEST_WIDTH && p[1] != ' ') {
                rc = krc_strbuf_addch(out, '\n');
                if (rc == 0)
                    rc = add_indent(out, indent);
                column = (size_t)indent;
            } else {
                rc = krc_strbuf_addch(out, ' ');
                column++;
            }
            spaces = true;
        } else {
            rc = krc_strbuf_addch(out, *p);
            column += ((unsigned char)*p & 0xC0) != 0x80;
            spaces = false;
        }
    }
    return rc;
}

/* A string scalar; indent is the column of block-literal content lines. */
static int emit_string(const char *s, int indent, bool fold, struct krc_strbuf *out)
{
    if (strchr(s, '\n')) {
        size_t n = strlen(s);
        int rc = krc_strbuf_adds(out, n && s[n - 1] == '\n' ? "|\n" : "|-\n");
        const char *line = s;
        while (rc == 0 && *line) {
            const char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            if (len > 0)
                rc = add_indent(out, indent);
            if (rc == 0)
                rc = krc_strbuf_add(out, line, len);
            if (rc == 0 && nl)
                rc = krc_strbuf_addch(out, '\n');
            line += len + (nl ? 1 : 0);
        }
        if (rc == 0 && s[n - 1] != '\n')
            rc = krc_strbuf_addch(out, '\n');
        return rc ? rc : 1; /* 1: the newline is written */
    }
    if (resolves_to_non_string(s))
        return emit_double_quoted(s, out);
    if (plain_allowed(s))
        return write_plain(s, indent, fold, out);
    int rc = krc_strbuf_addch(out, '\'');
    for (const char *p = s; rc == 0 && *p; p++)
        rc = *p == '\'' ? krc_strbuf_adds(out, "''") : krc_strbuf_addch(out, *p);
    return rc ? rc : krc_strbuf_addch(out, '\'');
}

/* A scalar followed by its newline. */
static int emit_scalar_line(const json_t *v, int indent, struct krc_strbuf *out)
{
    int rc;
    switch (json_typeof(v)) {
    case JSON_STRING:
        rc = emit_string(json_string_value(v), indent, true, out);
        if (rc == 1)
            return 0;
        break;
    case JSON_INTEGER:
        rc = krc_strbuf_addf(out, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        rc = krc_strbuf_addf(out, "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        rc = krc_strbuf_adds(out, "true");
        break;
    case JSON_FALSE:
        rc = krc_strbuf_adds(out, "false");
        break;
    default:
        rc = krc_strbuf_adds(out, "null");
        break;
    }
    return rc ? rc : krc_strbuf_addch(out, '\n');
}

static int emit_mapping(const json_t *obj, int indent, int inline_first, struct krc_strbuf *out);
static int emit_sequence(const json_t *arr, int indent, int inline_first, struct krc_strbuf *out);

/* The value after "key:" or "-": a space and a scalar, or a nested block. seq_indent is where a
 * nested sequence's dashes go, map_indent where a nested mapping's keys go. */
static int emit_value(const json_t *v, int map_indent, int seq_indent, int after_dash,
                      struct krc_strbuf *out)
{
    if (json_is_object(v) && json_object_size(v) > 0) {
        if (after_dash) {
            int rc = krc_strbuf_addch(out, ' ');
            return rc ? rc : emit_mapping(v, map_indent, 1, out);
        }
        int rc = krc_strbuf_addch(out, '\n');
        return rc ? rc : emit_mapping(v, map_indent, 0, out);
    }
    if (json_is_array(v) && json_array_size(v) > 0) {
        if (after_dash) {
            int rc = krc_strbuf_addch(out, ' ');
            return rc ? rc : emit_sequence(v, map_indent, 1, out);
        }
        int rc = krc_strbuf_addch(out, '\n');
        return rc ? rc : emit_sequence(v, seq_indent, 0, out);
    }
    int rc = krc_strbuf_addch(out, ' ');
    if (rc)
        return rc;
    if (json_is_object(v))
        return krc_strbuf_adds(out, "{}\n");
    if (json_is_array(v))
        return krc_strbuf_adds(out, "[]\n");
    return emit_scalar_line(v, map_indent, out);
}

static int emit_mapping(const json_t *obj, int indent, int inline_first, struct krc_strbuf *out)
{
    size_t n = json_object_size(obj), k = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    int rc = 0;

    if (!keys)
        return KRC_ENOMEM;
    json_t *mut = (json_t *)(uintptr_t)obj; /* jansson's iterators take no const */
    for (void *it = json_object_iter(mut); it && k < n; it = json_object_iter_next(mut, it))
        keys[k++] = json_object_iter_key(it);
    qsort(keys, n, sizeof(*keys), cmp_keys);
    for (k = 0; k < n && rc == 0; k++) {
        if (k > 0 || !inline_first)
            rc = add_indent(out, indent);
        if (rc == 0) {
            rc = emit_string(keys[k], indent + INDENT_STEP, false, out);
            if (rc == 1) /* a multi-line key: not something these objects have */
                rc = KRC_EINVAL;
        }
        if (rc == 0)
            rc = krc_strbuf_addch(out, ':');
        if (rc == 0)
            rc = emit_value(json_object_get(obj, keys[k]), indent + INDENT_STEP, indent, 0, out);
    }
    free(keys);
    return rc;
}

static int emit_sequence(const json_t *arr, int indent, int inline_first, struct krc_strbuf *out)
{
    size_t i;
    const json_t *item;
    int rc = 0;

    json_array_foreach(arr, i, item)
    {
        if (i > 0 || !inline_first)
            rc = add_indent(out, indent);
        if (rc == 0)
            rc = krc_strbuf_addch(out, '-');
        if (rc == 0)
            rc = emit_value(item, indent + INDENT_STEP, indent + INDENT_STEP, 1, out);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int cli_yaml_emit(const json_t *doc, struct krc_strbuf *out, struct krc_error *err)
{
    int rc;
    if (json_is_object(doc) && json_object_size(doc) > 0)
        rc = emit_mapping(doc, 0, 0, out);
    else if (json_is_array(doc) && json_array_size(doc) > 0)
        rc = emit_sequence(doc, 0, 0, out);
    else if (json_is_object(doc))
        rc = krc_strbuf_adds(out, "{}\n");
    else if (json_is_array(doc))
        rc = krc_strbuf_adds(out, "[]\n");
    else
        rc = emit_scalar_line(doc, INDENT_STEP, out);
    if (rc != 0)
        return krc_error_set(err, rc, "yaml: cannot encode the object: %s", krc_strerror(rc));
    return 0;
}
