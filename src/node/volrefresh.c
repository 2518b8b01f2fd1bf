/* volrefresh.c - token refresh timing (see volrefresh.h). */
#include "node/volrefresh.h"

#include <stdio.h>
#include <string.h>

int64_t krc_volrefresh_token_at(int64_t issued_ms, int64_t lifetime_s, double fraction)
{
    if (!(fraction > 0 && fraction <= 1))
        fraction = KRC_TOKEN_REFRESH_FRACTION_DEFAULT;
    int64_t after_ms = (int64_t)((double)lifetime_s * fraction * 1000.0);
    if (after_ms > (int64_t)KRC_TOKEN_REFRESH_MAX_AGE_S * 1000)
        after_ms = (int64_t)KRC_TOKEN_REFRESH_MAX_AGE_S * 1000;
    if (after_ms < 0)
        after_ms = 0;
    return issued_ms + after_ms;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t krc_volrefresh_parse_time(const char *s)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != (int)strlen(s) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60 || y < 1970)
        return 0;
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}
