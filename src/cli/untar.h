/* untar.h - extracting a tar stream into a directory as it arrives, for `kubectl ray log`
 * (the Ray session logs come from the pod as `tar -cf -` output over pods/exec).
 *
 * Only what GNU tar writes for a directory of logs: regular files and directories in ustar or
 * GNU headers, with GNU long names ('L'); pax headers are skipped; links, devices and FIFOs are
 * reported and skipped, as KubeRay does. Entries are confined to the directory: absolute names
 * lose their leading '/', and a name with a ".." component is refused (KubeRay would write
 * outside the directory). */
#ifndef KRC_CLI_UNTAR_H
#define KRC_CLI_UNTAR_H

#include <stddef.h>
#include <stdio.h>

struct cli_untar;

/* dir must exist; messages about skipped entries go to msgs. NULL when out of memory. */
struct cli_untar *cli_untar_new(const char *dir, FILE *msgs);
void cli_untar_free(struct cli_untar *t);

/* Consumes the next len bytes of the stream. 0, or -1 with the reason in why (a bad checksum or
 * size, a refused name, a file that cannot be written); the extractor is then unusable. */
int cli_untar_feed(struct cli_untar *t, const char *data, size_t len, char *why, size_t why_size);
/* The end of the stream: 0, or -1 when it ended inside an entry. */
int cli_untar_finish(struct cli_untar *t, char *why, size_t why_size);
/* Headers of entries read so far. */
size_t cli_untar_entries(const struct cli_untar *t);

/* The in-archive name made relative and clean ("./a//b" -> "a/b", "./" -> ""), into out; -1
 * when it has a ".." component or does not fit. Pure, for tests. */
int cli_untar_clean_name(const char *name, char *out, size_t size);

#endif
