/* Filesystem helpers: the state home (./var, $TRADEML_HOME or --home), directories, crash-safe
 * writes (temporary file + fsync + rename), recursive removal. */
#ifndef TML_FSUTIL_H
#define TML_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
