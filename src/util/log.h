/* log.h - structured, levelled logging for every kuberay-c binary.
 *
 * A line is a message plus key/value pairs: in text format `ts=... level=info msg="..." k=v`, in
 * JSON format one object per line. Callers pass pairs of C strings ended by NULL, usually through
 * the KRC_LOG_* macros, which add the NULL:
 *     KRC_LOG_INFO("created pod", "namespace", ns, "name", name);
 * Keys are written as given; values are quoted/escaped as the format needs. Never log secrets
 * (tokens, keys): callers pass only names and references.
 *
 * The sink is process-wide state, configured once at start-up by main(); that is the reason for
 * the global. Each line is formatted in a stack buffer and written with one write(2), so lines
 * from several threads never interleave. */
#ifndef KRC_UTIL_LOG_H
#define KRC_UTIL_LOG_H

enum krc_log_level { KRC_LOG_DEBUG = 0, KRC_LOG_INFO, KRC_LOG_WARN, KRC_LOG_ERROR };
enum krc_log_format { KRC_LOG_FORMAT_TEXT = 0, KRC_LOG_FORMAT_JSON };

/* Sets the minimum level, the format and the file descriptor lines go to (default: info, text, 2).
 */
void krc_log_configure(enum krc_log_level min_level, enum krc_log_format format, int fd);
/* "debug"/"info"/"warn"/"error" (KubeRay's zap names also accepted: "warning"). 0 or KRC_EINVAL. */
int krc_log_parse_level(const char *s, enum krc_log_level *out);
/* "text"/"json" (KubeRay's "console" is an alias of text). 0 or KRC_EINVAL. */
int krc_log_parse_format(const char *s, enum krc_log_format *out);
int krc_log_enabled(enum krc_log_level level);

/* Writes one line; the variadic part is key, value, key, value, ..., NULL (all const char *). */
void krc_log(enum krc_log_level level, const char *msg, ...);

#define KRC_LOG_DEBUG(msg, ...) krc_log(KRC_LOG_DEBUG, msg, ##__VA_ARGS__, (const char *)0)
#define KRC_LOG_INFO(msg, ...)  krc_log(KRC_LOG_INFO, msg, ##__VA_ARGS__, (const char *)0)
#define KRC_LOG_WARN(msg, ...)  krc_log(KRC_LOG_WARN, msg, ##__VA_ARGS__, (const char *)0)
#define KRC_LOG_ERROR(msg, ...) krc_log(KRC_LOG_ERROR, msg, ##__VA_ARGS__, (const char *)0)

#endif
