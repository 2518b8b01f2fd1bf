/* flags.c - command-line parsing with pflag's rules (spec kubectl-ray.md §1.2).
 *
 * GNU style: "--name=value", "--name value", "-x value", "-xvalue", clustered boolean shorthands
 * ("-yA"); flags and positional words may be interleaved; "--" ends the flags and what follows is
 * both positional (cobra counts it against argument validators) and the "dash" words (job
 * submit's entrypoint). Every value is checked when it is set, so an invalid value fails with
 * pflag's envelope `invalid argument "<v>" for "<-x, --name>" flag: <cause>` and Go's strconv
 * texts. Values are not copied: strings point into argv or the default literals, which outlive
 * the run. */
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CAUSE_MAX 256

int cli_parse_int(const char *s, int bits, long long *out, char *cause, size_t size)
{
    char *end = NULL;
    long long v;
    const char *p = s;

    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        goto syntax;
    errno = 0;
    v = strtoll(s, &end, 0);
    if (*end != '\0')
        goto syntax;
    if (errno == ERANGE || (bits == 32 && (v > INT32_MAX || v < INT32_MIN))) {
        snprintf(cause, size, "strconv.ParseInt: parsing \"%s\": value out of range", s);
        return CLI_FAIL;
    }
    *out = v;
    return 0;
syntax:
    snprintf(cause, size, "strconv.ParseInt: parsing \"%s\": invalid syntax", s);
    return CLI_FAIL;
}

static int parse_bool(const char *s, long long *out)
{
    static const char *const truth[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const falsity[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof(truth) / sizeof(truth[0]); i++) {
        if (strcmp(s, truth[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, falsity[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return CLI_FAIL;
}

int cli_parse_duration(const char *s, long long *ms)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1},
                 {"s", 1e3},   {"m", 6e4},   {"h", 3.6e6}};
    const char *p = s;
    double total = 0;
    int neg = 0;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (*p == '\0')
        return CLI_FAIL;
    while (*p) {
        char *end;
        if (!isdigit((unsigned char)*p) && *p != '.')
            return CLI_FAIL;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno == ERANGE)
            return CLI_FAIL;
        p = end;
        size_t best = 0;
        double mult = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, n) == 0 && n > best) {
                best = n;
                mult = units[i].ms;
            }
        }
        if (best == 0)
            return CLI_FAIL;
        p += best;
        total += v * mult;
    }
    if (total > 9.2e15)
        return CLI_FAIL;
    *ms = (long long)llround(neg ? -total : total);
    return 0;
}

/* One CSV record (encoding/csv): fields split at commas, a field starting with '"' is quoted with
 * "" for a quote. Returns a new array of strings, or NULL with cause set. */
static json_t *csv_record(const char *s, char *cause, size_t size)
{
    json_t *fields = json_array();
    struct krc_strbuf f = KRC_STRBUF_INIT;
    const char *p = s;

    if (!fields)
        goto nomem;
    for (;;) {
        krc_strbuf_reset(&f);
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0') {
                    snprintf(cause, size,
                             "parse error on line 1, column %zu: extraneous or "
                             "missing \" in quoted-field",
                             (size_t)(p - s) + 1);
                    goto fail;
                }
                if (*p == '"' && p[1] == '"') {
                    if (krc_strbuf_addch(&f, '"') != 0)
                        goto nomem;
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else if (krc_strbuf_addch(&f, *p++) != 0) {
                    goto nomem;
                }
            }
            if (*p != ',' && *p != '\0') {
                snprintf(cause, size,
                         "parse error on line 1, column %zu: extraneous or missing \" in "
                         "quoted-field",
                         (size_t)(p - s) + 1);
                goto fail;
            }
        } else {
            while (*p && *p != ',') {
                if (*p == '"') {
                    snprintf(cause, size,
                             "parse error on line 1, column %zu: bare \" in "
                             "non-quoted-field",
                             (size_t)(p - s) + 1);
                    goto fail;
                }
                if (krc_strbuf_addch(&f, *p++) != 0)
                    goto nomem;
            }
        }
        if (json_array_append_new(fields, json_string(f.buf)) != 0)
            goto nomem;
        if (*p == '\0')
            break;
        p++; /* the comma */
    }
    krc_strbuf_release(&f);
    return fields;
nomem:
    snprintf(cause, size, "out of memory");
fail:
    krc_strbuf_release(&f);
    json_decref(fields);
    return NULL;
}

int cli_parse_map(const char *value, json_t *map, char *cause, size_t size)
{
    size_t eq = 0;
    json_t *pairs = NULL, *fresh = json_object();
    int rc = CLI_FAIL;

    for (const char *p = value; *p; p++)
        eq += *p == '=';
    if (!fresh)
        goto out;
    if (eq == 0) {
        snprintf(cause, size, "%s must be formatted as key=value", value);
        goto out;
    }
    if (eq == 1) {
        /* strings.Trim(value, `"`): every leading and trailing quote */
        size_t b = 0, e = strlen(value);
        while (b < e && value[b] == '"')
            b++;
        while (e > b && value[e - 1] == '"')
            e--;
        pairs = json_array();
        if (!pairs || json_array_append_new(pairs, json_stringn(value + b, e - b)) != 0)
            goto out;
    } else if (!(pairs = csv_record(value, cause, size))) {
        goto out;
    }
    size_t i;
    json_t *pair;
    json_array_foreach(pairs, i, pair)
    {
        const char *kv = json_string_value(pair);
        const char *sep = strchr(kv, '=');
        if (!sep) {
            snprintf(cause, size, "%s must be formatted as key=value", kv);
            goto out;
        }
        json_t *v = json_string(sep + 1);
        if (!v || json_object_setn_new(fresh, kv, (size_t)(sep - kv), v) != 0)
            goto out;
    }
    if (json_object_update(map, fresh) != 0)
        goto out;
    rc = 0;
out:
    json_decref(pairs);
    json_decref(fresh);
    return rc;
}

static float to_float32(double d)
{
    return (float)d;
}

/* Sets one flag from its text; fails with pflag's envelope. */
static int set_value(struct cli_flagval *v, const char *text, struct krc_error *err)
{
    const struct cli_flagdef *d = v->def;
    char cause[CAUSE_MAX] = "";
    char shown[80];

    if (d->shorthand)
        snprintf(shown, sizeof(shown), "-%c, --%s", d->shorthand, d->name);
    else
        snprintf(shown, sizeof(shown), "--%s", d->name);

    switch (d->type) {
    case CLI_FLAG_BOOL:
        if (parse_bool(text, &v->i) != 0)
            snprintf(cause, sizeof(cause), "strconv.ParseBool: parsing \"%s\": invalid syntax",
                     text);
        break;
    case CLI_FLAG_STRING:
        v->s = text;
        break;
    case CLI_FLAG_INT32:
    case CLI_FLAG_INT:
        (void)cli_parse_int(text, d->type == CLI_FLAG_INT32 ? 32 : 64, &v->i, cause, sizeof(cause));
        break;
    case CLI_FLAG_FLOAT32: {
        char *end = NULL;
        errno = 0;
        double f = strtod(text, &end);
        if (!*text || *end || isspace((unsigned char)*text))
            snprintf(cause, sizeof(cause), "strconv.ParseFloat: parsing \"%s\": invalid syntax",
                     text);
        else if (errno == ERANGE || isinf(to_float32(f)))
            snprintf(cause, sizeof(cause), "strconv.ParseFloat: parsing \"%s\": value out of range",
                     text);
        else
            v->f = to_float32(f);
        break;
    }
    case CLI_FLAG_DURATION:
        if (cli_parse_duration(text, &v->i) != 0)
            snprintf(cause, sizeof(cause), "time: invalid duration \"%s\"", text);
        break;
    case CLI_FLAG_MAP:
        if (!v->changed)
            json_object_clear(v->map); /* the first occurrence replaces the default */
        (void)cli_parse_map(text, v->map, cause, sizeof(cause));
        break;
    case CLI_FLAG_STRINGS:
        if (json_array_append_new(v->list, json_string(text)) != 0)
            return krc_error_set(err, CLI_FAIL, "out of memory");
        break;
    case CLI_FLAG_ENUM: {
        const char *bad = d->check(text, v->enum_buf, sizeof(v->enum_buf));
        if (bad)
            snprintf(cause, sizeof(cause), "%s", bad);
        else
            v->s = v->enum_buf;
        break;
    }
    }
    if (cause[0])
        return krc_error_set(err, CLI_FAIL, "invalid argument \"%s\" for \"%s\" flag: %s", text,
                             shown, cause);
    v->changed = true;
    return 0;
}

static int init_value(struct cli_flagval *v, const struct cli_flagdef *d)
{
    memset(v, 0, sizeof(*v));
    v->def = d;
    v->s = "";
    switch (d->type) {
    case CLI_FLAG_MAP:
        v->map = json_object();
        return v->map ? 0 : CLI_FAIL;
    case CLI_FLAG_STRINGS:
        v->list = json_array();
        return v->list ? 0 : CLI_FAIL;
    case CLI_FLAG_STRING:
    case CLI_FLAG_ENUM:
        v->s = d->def ? d->def : "";
        return 0;
    case CLI_FLAG_BOOL:
        v->i = d->def && strcmp(d->def, "true") == 0;
        return 0;
    case CLI_FLAG_INT32:
    case CLI_FLAG_INT:
        v->i = d->def ? strtoll(d->def, NULL, 10) : 0;
        return 0;
    case CLI_FLAG_FLOAT32:
        v->f = d->def ? strtod(d->def, NULL) : 0;
        return 0;
    case CLI_FLAG_DURATION:
        if (d->def && cli_parse_duration(d->def, &v->i) != 0)
            return CLI_FAIL;
        return 0;
    }
    return 0;
}

static struct cli_flagval *find_long(struct cli_args *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->nflags; i++)
        if (strlen(a->flags[i].def->name) == len && strncmp(a->flags[i].def->name, name, len) == 0)
            return &a->flags[i];
    return NULL;
}

static struct cli_flagval *find_short(struct cli_args *a, char c)
{
    for (size_t i = 0; i < a->nflags; i++)
        if (a->flags[i].def->shorthand == c)
            return &a->flags[i];
    return NULL;
}

static int add_word(const char ***arr, size_t *n, const char *w)
{
    const char **grown = realloc(*arr, (*n + 1) * sizeof(**arr));
    if (!grown)
        return CLI_FAIL;
    grown[(*n)++] = w;
    *arr = grown;
    return 0;
}

/* "--name[=value]" at argv[*i]. */
static int parse_long(struct cli_args *a, int argc, char **argv, int *i, struct krc_error *err)
{
    const char *body = argv[*i] + 2;
    const char *eq = strchr(body, '=');
    size_t len = eq ? (size_t)(eq - body) : strlen(body);
    struct cli_flagval *v = find_long(a, body, len);

    if (!v) {
        if (len == 4 && strncmp(body, "help", 4) == 0) {
            a->help = true;
            return 0;
        }
        return krc_error_set(err, CLI_FAIL, "unknown flag: --%.*s", (int)len, body);
    }
    if (eq)
        return set_value(v, eq + 1, err);
    if (v->def->type == CLI_FLAG_BOOL)
        return set_value(v, "true", err);
    if (*i + 1 >= argc)
        return krc_error_set(err, CLI_FAIL, "flag needs an argument: --%s", v->def->name);
    return set_value(v, argv[++*i], err);
}

/* "-abc" at argv[*i]: shorthands, the last non-boolean one taking the rest or the next word. */
static int parse_short(struct cli_args *a, int argc, char **argv, int *i, struct krc_error *err)
{
    const char *arg = argv[*i];
    for (const char *p = arg + 1; *p; p++) {
        struct cli_flagval *v = find_short(a, *p);
        if (!v) {
            if (*p == 'h') {
                a->help = true;
                continue;
            }
            return krc_error_set(err, CLI_FAIL, "unknown shorthand flag: '%c' in %s", *p, arg);
        }
        if (v->def->type == CLI_FLAG_BOOL) {
            if (p[1] == '=')
                return set_value(v, p + 2, err);
            if (set_value(v, "true", err) != 0)
                return CLI_FAIL;
            continue;
        }
        if (p[1] == '=')
            return set_value(v, p + 2, err);
        if (p[1])
            return set_value(v, p + 1, err);
        if (*i + 1 >= argc)
            return krc_error_set(err, CLI_FAIL, "flag needs an argument: '%c' in -%c", *p, *p);
        return set_value(v, argv[++*i], err);
    }
    return 0;
}

int cli_args_parse(struct cli_args *a, const struct cli_flagdef *defs, size_t ndefs,
                   const struct cli_flagdef *globals, size_t nglobals, int argc, char **argv,
                   struct krc_error *err)
{
    memset(a, 0, sizeof(*a));
    if (ndefs + nglobals + 1 > CLI_MAX_FLAGS)
        return krc_error_set(err, CLI_FAIL, "too many flags");
    for (size_t k = 0; k < ndefs + nglobals; k++) {
        const struct cli_flagdef *d = k < ndefs ? &defs[k] : &globals[k - ndefs];
        if (init_value(&a->flags[a->nflags++], d) != 0)
            return krc_error_set(err, CLI_FAIL, "out of memory");
    }
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        int rc = 0;
        if (a->dash_seen) {
            if (add_word(&a->pos, &a->npos, w) != 0 || add_word(&a->dash, &a->ndash, w) != 0)
                return krc_error_set(err, CLI_FAIL, "out of memory");
        } else if (strcmp(w, "--") == 0) {
            a->dash_seen = true;
        } else if (strncmp(w, "--", 2) == 0) {
            rc = parse_long(a, argc, argv, &i, err);
        } else if (w[0] == '-' && w[1] != '\0') {
            rc = parse_short(a, argc, argv, &i, err);
        } else if (add_word(&a->pos, &a->npos, w) != 0) {
            return krc_error_set(err, CLI_FAIL, "out of memory");
        }
        if (rc != 0)
            return CLI_FAIL;
    }
    return 0;
}

void cli_args_release(struct cli_args *a)
{
    for (size_t i = 0; i < a->nflags; i++) {
        json_decref(a->flags[i].map);
        json_decref(a->flags[i].list);
    }
    free(a->pos);
    free(a->dash);
    memset(a, 0, sizeof(*a));
}

const struct cli_flagval *cli_flag(const struct cli_args *a, const char *name)
{
    for (size_t i = 0; i < a->nflags; i++)
        if (strcmp(a->flags[i].def->name, name) == 0)
            return &a->flags[i];
    return NULL;
}

const char *cli_flag_str(const struct cli_args *a, const char *name)
{
    const struct cli_flagval *v = cli_flag(a, name);
    return v && v->s ? v->s : "";
}

long long cli_flag_int(const struct cli_args *a, const char *name)
{
    const struct cli_flagval *v = cli_flag(a, name);
    return v ? v->i : 0;
}

bool cli_flag_bool(const struct cli_args *a, const char *name)
{
    const struct cli_flagval *v = cli_flag(a, name);
    return v && v->i != 0;
}

bool cli_flag_changed(const struct cli_args *a, const char *name)
{
    const struct cli_flagval *v = cli_flag(a, name);
    return v && v->changed;
}

const struct cli_flagdef cli_global_flags[] = {
    {"as", 0, CLI_FLAG_STRING, "",
     "Username to impersonate for the operation. User could be a regular user or a service "
     "account in a namespace.",
     NULL},
    {"as-group", 0, CLI_FLAG_STRINGS, NULL,
     "Group to impersonate for the operation, this flag can be repeated to specify multiple "
     "groups.",
     NULL},
    {"as-uid", 0, CLI_FLAG_STRING, "", "UID to impersonate for the operation.", NULL},
    {"as-user-extra", 0, CLI_FLAG_STRINGS, NULL,
     "User extras to impersonate for the operation, this flag can be repeated to specify "
     "multiple values for the same key.",
     NULL},
    {"cache-dir", 0, CLI_FLAG_STRING, "", "Default cache directory", NULL},
    {"certificate-authority", 0, CLI_FLAG_STRING, "",
     "Path to a cert file for the certificate authority", NULL},
    {"client-certificate", 0, CLI_FLAG_STRING, "", "Path to a client certificate file for TLS",
     NULL},
    {"client-key", 0, CLI_FLAG_STRING, "", "Path to a client key file for TLS", NULL},
    {"cluster", 0, CLI_FLAG_STRING, "", "The name of the kubeconfig cluster to use", NULL},
    {"context", 0, CLI_FLAG_STRING, "", "The name of the kubeconfig context to use", NULL},
    {"disable-compression", 0, CLI_FLAG_BOOL, "false",
     "If true, opt-out of response compression for all requests to the server", NULL},
    {"insecure-skip-tls-verify", 0, CLI_FLAG_BOOL, "false",
     "If true, the server's certificate will not be checked for validity. This will make your "
     "HTTPS connections insecure",
     NULL},
    {"kubeconfig", 0, CLI_FLAG_STRING, "", "Path to the kubeconfig file to use for CLI requests.",
     NULL},
    {"namespace", 'n', CLI_FLAG_STRING, "", "If present, the namespace scope for this CLI request",
     NULL},
    {"request-timeout", 0, CLI_FLAG_STRING, "0",
     "The length of time to wait before giving up on a single server request. Non-zero values "
     "should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't "
     "timeout requests.",
     NULL},
    {"server", 's', CLI_FLAG_STRING, "", "The address and port of the Kubernetes API server", NULL},
    {"tls-server-name", 0, CLI_FLAG_STRING, "",
     "Server name to use for server certificate validation. If it is not provided, the hostname "
     "used to contact the server is used",
     NULL},
    {"token", 0, CLI_FLAG_STRING, "", "Bearer token for authentication to the API server", NULL},
    {"user", 0, CLI_FLAG_STRING, "", "The name of the kubeconfig user to use", NULL},
};
const size_t cli_nglobal_flags = sizeof(cli_global_flags) / sizeof(cli_global_flags[0]);
