/* retry.c - retry policy of the REST client (see retry.h), and the Retry-After header's parser.
 *
 * HTTP-dates are parsed by hand rather than with strptime/timegm: strptime's %a and %b follow
 * the locale (and glibc's accepts more than the grammar), and timegm is not standard C; the
 * grammar is small and the date arithmetic is the proleptic Gregorian day count. */
#include "kube/retry.h"

#include "kube/client.h"

#include <stdbool.h>
#include <string.h>

int krc_retry_idempotent(const char *method)
{
    static const char *const idempotent[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof(idempotent) / sizeof(idempotent[0]); i++)
        if (strcmp(method, idempotent[i]) == 0)
            return 1;
    return 0;
}

int krc_retry_should(const char *method, int rc, const struct krc_http_response *resp)
{
    if (rc == 0) {
        long s = resp->status;
        if (s == 429)
            return 1;
        /* 501 Not Implemented and 505 will not change on a second try. */
        if (s == 500 || s == 502 || s == 503 || s == 504)
            return krc_retry_idempotent(method);
        return 0;
    }
    if (rc != KRC_EIO && rc != KRC_ETIMEOUT)
        return 0; /* canceled, too large, out of memory, stopped by the receiver */
    if (!resp->sent)
        return rc == KRC_ETIMEOUT || resp->transient;
    /* A request timeout after sending is not retried: the caller's time budget is spent. */
    return rc == KRC_EIO && resp->transient && krc_retry_idempotent(method);
}

long krc_retry_delay_ms(int attempt, long retry_after_s, uint64_t rnd)
{
    if (retry_after_s > 0) {
        if (retry_after_s > KRC_CLIENT_RETRY_AFTER_MAX_S)
            retry_after_s = KRC_CLIENT_RETRY_AFTER_MAX_S;
        return retry_after_s * 1000;
    }
    long d = KRC_CLIENT_RETRY_BASE_MS;
    for (int i = 0; i < attempt && d < KRC_CLIENT_RETRY_MAX_MS; i++)
        d *= 2;
    if (d > KRC_CLIENT_RETRY_MAX_MS)
        d = KRC_CLIENT_RETRY_MAX_MS;
    return d / 2 + (long)(rnd % (uint64_t)(d / 2 + 1));
}

/* ---- Retry-After ---- */

#define SECONDS_PER_DAY 86400

static const char *const SHORT_DAYS[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const LONG_DAYS[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};
static const char *const MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A parse position; ok turns false at the first mismatch and stays so. */
struct cursor {
    const char *p;
    bool ok;
};

static void expect(struct cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if (c->ok && strncmp(c->p, lit, n) == 0)
        c->p += n;
    else
        c->ok = false;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Exactly n digits. */
static int digits(struct cursor *c, int n)
{
    int v = 0;
    for (int i = 0; i < n && c->ok; i++) {
        if (!is_digit(*c->p)) {
            c->ok = false;
            break;
        }
        v = v * 10 + (*c->p++ - '0');
    }
    return v;
}

/* One of names (case-sensitive, as the grammar says); its index. */
static int name_of(struct cursor *c, const char *const *names, int n)
{
    for (int i = 0; c->ok && i < n; i++) {
        size_t len = strlen(names[i]);
        if (strncmp(c->p, names[i], len) == 0) {
            c->p += len;
            return i;
        }
    }
    c->ok = false;
    return 0;
}

/* "HH:MM:SS" (a leap second's 60 allowed) in seconds. */
static int time_of_day(struct cursor *c)
{
    int h = digits(c, 2);
    expect(c, ":");
    int m = digits(c, 2);
    expect(c, ":");
    int s = digits(c, 2);
    if (h > 23 || m > 59 || s > 60)
        c->ok = false;
    return h * 3600 + m * 60 + s;
}

static bool leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int month /* 0-11 */)
{
    static const int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return DAYS[month] + (month == 1 && leap_year(y));
}

/* Days from 1970-01-01 to y-m-d (m 1-12) in the proleptic Gregorian calendar: whole 400-year
 * eras (146,097 days each) of years counted from March, so the leap day ends a year. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* The year (Gregorian) of Unix time t. */
static int64_t year_of(int64_t t)
{
    int64_t days = (t >= 0 ? t : t - (SECONDS_PER_DAY - 1)) / SECONDS_PER_DAY;
    int64_t y = 1970 + days / 365; /* within a year or two of the answer */
    while (days_from_civil(y, 1, 1) > days)
        y--;
    while (days_from_civil(y + 1, 1, 1) <= days)
        y++;
    return y;
}

/* RFC 9110 5.6.7: a two-digit year more than 50 years in the future is the most recent past
 * year with those digits. */
static int64_t full_year(int yy, int64_t now_s)
{
    int64_t now_year = year_of(now_s);
    int64_t y = now_year - now_year % 100 + yy;
    if (y > now_year + 50)
        y -= 100;
    else if (y <= now_year - 50)
        y += 100;
    return y;
}

/* Parses the HTTP-date at c into Unix time. */
static int64_t http_date(struct cursor *c, int64_t now_s)
{
    const char *comma = strchr(c->p, ',');
    int64_t year;
    int month, day, secs;
    if (comma && comma - c->p == 3) { /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        name_of(c, SHORT_DAYS, 7);
        expect(c, ", ");
        day = digits(c, 2);
        expect(c, " ");
        month = name_of(c, MONTHS, 12);
        expect(c, " ");
        year = digits(c, 4);
        expect(c, " ");
        secs = time_of_day(c);
        expect(c, " GMT");
    } else if (comma) { /* rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT */
        name_of(c, LONG_DAYS, 7);
        expect(c, ", ");
        day = digits(c, 2);
        expect(c, "-");
        month = name_of(c, MONTHS, 12);
        expect(c, "-");
        year = full_year(digits(c, 2), now_s);
        expect(c, " ");
        secs = time_of_day(c);
        expect(c, " GMT");
    } else { /* asctime-date: Sun Nov  6 08:49:37 1994 */
        name_of(c, SHORT_DAYS, 7);
        expect(c, " ");
        month = name_of(c, MONTHS, 12);
        expect(c, " ");
        if (c->ok && *c->p == ' ') {
            c->p++;
            day = digits(c, 1);
        } else
            day = digits(c, 2);
        expect(c, " ");
        secs = time_of_day(c);
        expect(c, " ");
        year = digits(c, 4);
    }
    if (c->ok && (day < 1 || day > days_in_month(year, month)))
        c->ok = false;
    return c->ok ? days_from_civil(year, month + 1, day) * SECONDS_PER_DAY + secs : 0;
}

static bool ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

int krc_retry_after_parse(const char *value, int64_t now_s, long *out_s)
{
    struct cursor c = {value, value != NULL};
    int64_t secs = 0;
    if (!c.ok)
        return KRC_EINVAL;
    while (ows(*c.p))
        c.p++;
    if (is_digit(*c.p)) { /* delay-seconds: 1*DIGIT */
        while (is_digit(*c.p)) {
            if (secs <= KRC_CLIENT_RETRY_AFTER_MAX_S)
                secs = secs * 10 + (*c.p - '0');
            c.p++;
        }
    } else {
        int64_t when = http_date(&c, now_s);
        secs = when > now_s ? when - now_s : 0;
    }
    while (c.ok && ows(*c.p))
        c.p++;
    if (!c.ok || *c.p != '\0')
        return KRC_EINVAL;
    *out_s = secs > KRC_CLIENT_RETRY_AFTER_MAX_S ? KRC_CLIENT_RETRY_AFTER_MAX_S : (long)secs;
    return 0;
}
