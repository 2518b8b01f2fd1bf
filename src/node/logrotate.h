/* logrotate.h - naming and retention of rotated container log files (pure; no I/O).
 *
 * A container start writes logs/<container>/<restart>.log (what `kubectl logs` reads, and
 * `--previous` picks the restart before the current one). When it reaches the node's
 * container-log-max-size, the supervisor renames it to <restart>.log.<seq> (seq 1, 2, ... per
 * start, newest highest) and opens a fresh <restart>.log; of the rotated files of a start only
 * the newest max-files - 1 are kept, so a start uses at most max-files files, as with the
 * kubelet's containerLogMaxSize and containerLogMaxFiles (defaults 10 MiB and 5). */
#ifndef KRC_NODE_LOGROTATE_H
#define KRC_NODE_LOGROTATE_H

#include <stddef.h>

#define KRC_LOG_MAX_SIZE_DEFAULT  (10LL * 1024 * 1024)
#define KRC_LOG_MAX_FILES_DEFAULT 5

enum krc_logfile_kind {
    KRC_LOGFILE_OTHER = 0,   /* not a container log file */
    KRC_LOGFILE_CURRENT = 1, /* <restart>.log */
    KRC_LOGFILE_ROTATED = 2, /* <restart>.log.<seq> */
};

/* Classifies a file name of a container's log directory, filling *restart and *seq (0 for the
 * current file). */
enum krc_logfile_kind krc_logrotate_parse(const char *name, int *restart, unsigned *seq);

/* "<restart>.log" (seq 0) or "<restart>.log.<seq>" into out; -1 if it does not fit. */
int krc_logrotate_name(char *out, size_t len, int restart, unsigned seq);

/* After rotating to newest_seq: rotated files of the same start with seq below the returned
 * value are to be deleted. max_files counts the current file; below 2 keeps one rotated file. */
unsigned krc_logrotate_keep_from(unsigned newest_seq, int max_files);

#endif
