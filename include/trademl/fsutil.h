/* Filesystem helpers: the state home (./var, $TRADEML_HOME or --home), directories, crash-safe
 * writes (temporary file + fsync + rename), recursive removal. */
#ifndef TML_FSUTIL_H
#define TML_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_error;

#define TML_PATH_MAX 4096

struct tml_paths {
  char home[TML_PATH_MAX];   /* state root: --home, else $TRADEML_HOME, else ./var */
  char db[TML_PATH_MAX];     /* <home>/trademl.db unless configured */
  char models[TML_PATH_MAX]; /* <home>/models */
  char logs[TML_PATH_MAX];   /* <home>/logs */
};

/* Resolves the state paths; home_flag may be NULL. Does not create anything. */
int tml_paths_resolve(const char *home_flag, struct tml_paths *p, struct tml_error *err);
/* Creates home, models and logs directories (mkdir -p); names the one that failed. */
int tml_paths_ensure(const struct tml_paths *p, struct tml_error *err);

int tml_mkdir_p(const char *path, struct tml_error *err);
/* snprintf into a path buffer; TML_EINVAL (with a message naming the start of the path) when it does
 * not fit, so a long path is an error instead of a silently truncated one. */
int tml_path_fmt(char *out, size_t outsz, struct tml_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool tml_path_exists(const char *path);
bool tml_path_is_dir(const char *path);
/* Writes data to path atomically: path.tmp.<pid>, fsync, rename, fsync of the directory. */
int tml_write_file_atomic(const char *path, const void *data, size_t len, struct tml_error *err);
/* Reads a whole file; caller frees *data (NUL-terminated). */
int tml_read_file(const char *path, char **data, size_t *len, struct tml_error *err);
/* Removes a file or a directory tree (no symlink following). Missing path is not an error. */
int tml_rm_rf(const char *path, struct tml_error *err);
/* fsyncs a directory so a rename inside it is durable. */
int tml_fsync_dir(const char *dir, struct tml_error *err);

/* Temporary folders that a rename turns into a final one (model sets). Their name records the process
 * that creates them, "<parent>/.tmp-<pid>-<start ticks>-XXXXXX", so a later sweep can tell a folder
 * being written (its process is alive, with the same start time: pid reuse does not fool it) from one
 * left by a killed process. Assumes the folder's writers run on this host, in this pid namespace. */
#define TML_TMPDIR_PREFIX ".tmp-"
#define TML_TMPDIR_MIN_AGE_MS (10 * 60 * 1000LL)  /* a left-over folder is removed only once this old */
#define TML_TMPDIR_NO_OWNER_AGE_MS (24 * 3600 * 1000LL) /* names without a process (older trademl) */
/* Fills out with the mkdtemp() template for a temporary folder of this process under parent.
 * TML_EINVAL when it does not fit. */
int tml_tmpdir_template(const char *parent, char *out, size_t outsz, struct tml_error *err);
/* True when path is a temporary folder (name starting with TML_TMPDIR_PREFIX) left over: the process
 * named in it is gone and the folder is at least min_age_ms old (by its modification time), or its
 * name records no process and it is TML_TMPDIR_NO_OWNER_AGE_MS old. why (may be NULL) says which. */
bool tml_tmpdir_stale(const char *path, int64_t now_ms, int64_t min_age_ms, char *why, size_t whysz);

#endif
