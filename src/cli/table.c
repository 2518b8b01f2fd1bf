/* table.c - the `get` commands' tables, ages and quantities (spec kubectl-ray.md §1.4).
 *
 * The layout is Go's tabwriter as kubectl's printers configure it (minimum cell width 6, padding
 * 3, spaces): every column but the last is padded to max(6, widest cell + 3), the last is not
 * padded, and a table without rows prints nothing at all, not even its header. Cells are
 * measured in bytes: every value printed here is ASCII. */
#define _GNU_SOURCE /* strptime, timegm */
#include "cli/cli.h"
#include "util/quantity.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TABLE_MIN_WIDTH 6
#define TABLE_PADDING   3

int cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    return cli_table_add(t, headers);
}

int cli_table_add(struct cli_table *t, const char *const *cells)
{
    char **grown = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*grown));
    if (!grown)
        return KRC_ENOMEM;
    t->cells = grown;
    for (size_t c = 0; c < t->ncols; c++) {
        const char *v = cells[c] ? cells[c] : "";
        /* A cell is cut at its first newline, "..." marking the cut. */
        const char *nl = strchr(v, '\n');
        size_t len = nl ? (size_t)(nl - v) : strlen(v);
        char *copy = malloc(len + 4);
        if (!copy) {
            for (size_t k = 0; k < c; k++)
                free(t->cells[t->nrows * t->ncols + k]);
            return KRC_ENOMEM;
        }
        memcpy(copy, v, len);
        strcpy(copy + len, nl ? "..." : "");
        t->cells[t->nrows * t->ncols + c] = copy;
    }
    t->nrows++;
    return 0;
}

int cli_table_print(const struct cli_table *t, struct krc_strbuf *out)
{
    if (t->nrows <= 1)
        return 0;
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            int rc = krc_strbuf_adds(out, cell);
            if (rc != 0)
                return rc;
            if (c + 1 == t->ncols)
                break;
            size_t width = 0;
            for (size_t k = 0; k < t->nrows; k++) {
                size_t len = strlen(t->cells[k * t->ncols + c]);
                width = len > width ? len : width;
            }
            width += TABLE_PADDING;
            if (width < TABLE_MIN_WIDTH)
                width = TABLE_MIN_WIDTH;
            for (size_t k = strlen(cell); k < width; k++)
                if ((rc = krc_strbuf_addch(out, ' ')) != 0)
                    return rc;
        }
        int rc = krc_strbuf_addch(out, '\n');
        if (rc != 0)
            return rc;
    }
    return 0;
}

void cli_table_release(struct cli_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

void cli_human_duration(int64_t seconds, char *buf, size_t size)
{
    const int64_t minute = 60, hour = 3600, day = 86400, year = 365 * day;

    if (seconds < -1) {
        snprintf(buf, size, "<invalid>");
    } else if (seconds < 0) {
        snprintf(buf, size, "0s");
    } else if (seconds < 2 * minute) {
        snprintf(buf, size, "%llds", (long long)seconds);
    } else if (seconds < 10 * minute) {
        int64_t m = seconds / minute, s = seconds % minute;
        if (s == 0)
            snprintf(buf, size, "%lldm", (long long)m);
        else
            snprintf(buf, size, "%lldm%llds", (long long)m, (long long)s);
    } else if (seconds < 3 * hour) {
        snprintf(buf, size, "%lldm", (long long)(seconds / minute));
    } else if (seconds < 8 * hour) {
        int64_t h = seconds / hour, m = (seconds / minute) % 60;
        if (m == 0)
            snprintf(buf, size, "%lldh", (long long)h);
        else
            snprintf(buf, size, "%lldh%lldm", (long long)h, (long long)m);
    } else if (seconds < 48 * hour) {
        snprintf(buf, size, "%lldh", (long long)(seconds / hour));
    } else if (seconds < 8 * day) {
        int64_t hours = seconds / hour;
        if (hours % 24 == 0)
            snprintf(buf, size, "%lldd", (long long)(hours / 24));
        else
            snprintf(buf, size, "%lldd%lldh", (long long)(hours / 24), (long long)(hours % 24));
    } else if (seconds < 2 * year) {
        snprintf(buf, size, "%lldd", (long long)(seconds / day));
    } else if (seconds < 8 * year) {
        int64_t days = seconds / day;
        if (days % 365 == 0)
            snprintf(buf, size, "%lldy", (long long)(days / 365));
        else
            snprintf(buf, size, "%lldy%lldd", (long long)(days / 365), (long long)(days % 365));
    } else {
        snprintf(buf, size, "%lldy", (long long)(seconds / year));
    }
}

void cli_age(const char *ts, int64_t now, char *buf, size_t size)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = ts ? strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end || (*end != 'Z' && *end != '\0')) {
        snprintf(buf, size, "<unknown>");
        return;
    }
    cli_human_duration((int64_t)(now - (int64_t)timegm(&tm)), buf, size);
}

void cli_quantity_canon(const char *s, char *buf, size_t size)
{
    struct krc_quantity q;
    if (!s || !*s) {
        snprintf(buf, size, "0");
        return;
    }
    if (krc_quantity_parse(s, &q, NULL) != 0 || krc_quantity_to_string(&q, buf, size) != 0)
        snprintf(buf, size, "%s", s);
}
