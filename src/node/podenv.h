/* podenv.h - a container's environment and command line: defaults merged with the spec's env,
 * Kubernetes $(VAR) expansion, and looking the command up in the container's PATH.
 *
 * A container does not inherit the agent's or the supervisor's environment (as with a real
 * runtime); it gets defaults (PATH, HOSTNAME, HOME) and the spec's entries on top. All but
 * krc_podenv_resolve are pure. */
#ifndef KRC_NODE_PODENV_H
#define KRC_NODE_PODENV_H

#include "util/error.h"
#include "util/strbuf.h"

#include <stddef.h>

/* Merges defaults and env ("NAME=VALUE" each) into a NULL-terminated array: one entry per name,
 * a later entry replacing an earlier one in place (env over defaults, later env over earlier).
 * The array is malloc'd (free() it); its strings are the inputs' (not copied). O(n^2) in the
 * number of entries, which is a few dozen. */
int krc_podenv_merge(const char *const *defaults, size_t nd, const char *const *env, size_t ne,
                     const char ***out, struct krc_error *err);

/* The value of name in a NULL-terminated envp, or NULL. */
const char *krc_podenv_get(const char *const *envp, const char *name);

/* Appends s to out with Kubernetes variable references expanded against envp: $(NAME) becomes
 * NAME's value when NAME is set, and stays as written when it is not; $$ becomes a literal $ (so
 * $$(NAME) is the text $(NAME)). */
int krc_podenv_expand(const char *s, const char *const *envp, struct krc_strbuf *out);

/* Finds cmd: a cmd containing '/' is used as is; otherwise the first executable regular file in
 * the colon-separated path. Writes the full path to out. KRC_ENOTFOUND names cmd and the path. */
int krc_podenv_resolve(const char *cmd, const char *path, char *out, size_t outlen,
                       struct krc_error *err);

#endif
