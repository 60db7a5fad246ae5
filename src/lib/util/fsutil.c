/* Filesystem helpers: state paths, mkdir -p, atomic file writes, recursive delete. */
#include "trademl/fsutil.h"
#include "trademl/error.h"
#include "util/common.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static int join(char *out, size_t outsz, const char *a, const char *b, struct tml_error *err) {
  int n = snprintf(out, outsz, "%s/%s", a, b);
  if (n < 0 || (size_t)n >= outsz)
    return tml_error_set(err, TML_EINVAL, "path too long: '%s/%s'", a, b);
  return 0;
}

int tml_paths_resolve(const char *home_flag, struct tml_paths *p, struct tml_error *err) {
  const char *home = home_flag;
  if (!home || !*home)
    home = getenv("TRADEML_HOME");
  if (!home || !*home)
    home = "var";
  size_t n = strlen(home);
  if (n >= sizeof(p->home))
    return tml_error_set(err, TML_EINVAL, "home path too long (%zu bytes)", n);
  memcpy(p->home, home, n + 1);
  while (n > 1 && p->home[n - 1] == '/')
    p->home[--n] = '\0';
  int rc = join(p->db, sizeof(p->db), p->home, "trademl.db", err);
  if (!rc)
    rc = join(p->models, sizeof(p->models), p->home, "models", err);
  if (!rc)
    rc = join(p->logs, sizeof(p->logs), p->home, "logs", err);
  return rc;
}

int tml_paths_ensure(const struct tml_paths *p, struct tml_error *err) {
  const struct {
    const char *role, *path, *key;
  } dirs[] = {{"state folder", p->home, "--home or TRADEML_HOME"},
              {"models folder", p->models, "model.models_dir"},
              {"logs folder", p->logs, "logging.dir"}};
  for (size_t i = 0; i < TML_ARRAY_LEN(dirs); i++) {
    int rc = tml_mkdir_p(dirs[i].path, err);
    if (rc) {
      tml_error_prefix(err, "%s '%s' is not usable (set %s)", dirs[i].role, dirs[i].path, dirs[i].key);
      return rc;
    }
  }
  return 0;
}

int tml_path_fmt(char *out, size_t outsz, struct tml_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, outsz, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= outsz)
    return tml_error_set(err, TML_EINVAL, "path too long (%d bytes, limit %zu): '%.80s...'", n, outsz - 1, out);
  return 0;
}

bool tml_path_exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

bool tml_path_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int tml_mkdir_p(const char *path, struct tml_error *err) {
  char tmp[TML_PATH_MAX];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof(tmp))
    return tml_error_set(err, TML_EINVAL, "invalid directory path '%s'", path);
  memcpy(tmp, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (tmp[i] == '/' || tmp[i] == '\0') {
      char saved = tmp[i];
      tmp[i] = '\0';
      if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return tml_error_set(err, errno == EACCES || errno == EROFS ? TML_EPERM : TML_EIO,
                             "cannot create directory '%s': %s", tmp, strerror(errno));
      if (!tml_path_is_dir(tmp))
        return tml_error_set(err, TML_EIO, "'%s' exists and is not a directory", tmp);
      tmp[i] = saved;
    }
  }
  return 0;
}

int tml_fsync_dir(const char *dir, struct tml_error *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return tml_error_set(err, TML_EIO, "cannot open directory '%s': %s", dir, strerror(errno));
  int rc = 0;
  if (fsync(fd) != 0)
    rc = tml_error_set(err, TML_EIO, "cannot sync directory '%s': %s", dir, strerror(errno));
  close(fd);
  return rc;
}

int tml_write_file_atomic(const char *path, const void *data, size_t len, struct tml_error *err) {
  char tmp[TML_PATH_MAX + 32];
  snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return tml_error_set(err, errno == EACCES || errno == EROFS ? TML_EPERM : TML_EIO,
                         "cannot write '%s': %s", tmp, strerror(errno));
  const char *p = data;
  size_t left = len;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      close(fd);
      unlink(tmp);
      return tml_error_set(err, TML_EIO, "cannot write '%s': %s", tmp, strerror(e));
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp);
    return tml_error_set(err, TML_EIO, "cannot flush '%s': %s", tmp, strerror(errno));
  }
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return tml_error_set(err, TML_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
  }
  char dir[TML_PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof(dir), ".");
  return tml_fsync_dir(dir, err);
}

int tml_read_file(const char *path, char **data, size_t *len, struct tml_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return tml_error_set(err, errno == ENOENT ? TML_ENOENT : TML_EIO, "cannot open '%s': %s", path,
                         strerror(errno));
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  int rc = 0;
  while (buf) {
    if (n + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0)
      break;
  }
  if (!buf)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory reading '%s'", path);
  else if (ferror(f))
    rc = tml_error_set(err, TML_EIO, "cannot read '%s': %s", path, strerror(errno));
  fclose(f);
  if (rc) {
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  *data = buf;
  if (len)
    *len = n;
  return 0;
}

int tml_rm_rf(const char *path, struct tml_error *err) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? 0 : tml_error_set(err, TML_EIO, "cannot stat '%s': %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (!d)
      return tml_error_set(err, TML_EIO, "cannot open directory '%s': %s", path, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      char child[TML_PATH_MAX];
      if (join(child, sizeof(child), path, e->d_name, err))
        rc = TML_EINVAL;
      else
        rc = tml_rm_rf(child, err);
    }
    closedir(d);
    if (rc)
      return rc;
    if (rmdir(path) != 0)
      return tml_error_set(err, TML_EIO, "cannot remove directory '%s': %s", path, strerror(errno));
    return 0;
  }
  if (unlink(path) != 0)
    return tml_error_set(err, TML_EIO, "cannot remove '%s': %s", path, strerror(errno));
  return 0;
}

/* ---- temporary folders ---- */

/* Start time of process pid in clock ticks after boot (field 22 of /proc/<pid>/stat); 0 when the
 * process does not exist or /proc cannot tell. */
static unsigned long long proc_start_ticks(long pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  const char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
  if (!p)
    return 0;
  p++;
  int field = 2; /* just past "(comm)", field 2 */
  while (*p) {
    while (*p == ' ')
      p++;
    if (++field == 22)
      break;
    while (*p && *p != ' ')
      p++;
  }
  if (field != 22)
    return 0;
  unsigned long long v = 0;
  for (; *p >= '0' && *p <= '9'; p++)
    v = v * 10 + (unsigned long long)(*p - '0');
  return v;
}

int tml_tmpdir_template(const char *parent, char *out, size_t outsz, struct tml_error *err) {
  long pid = (long)getpid();
  int n = snprintf(out, outsz, "%s/" TML_TMPDIR_PREFIX "%ld-%llu-XXXXXX", parent, pid, proc_start_ticks(pid));
  if (n < 0 || (size_t)n >= outsz)
    return tml_error_set(err, TML_EINVAL, "path too long: '%s/" TML_TMPDIR_PREFIX "...'", parent);
  return 0;
}

/* Reads "<pid>-<ticks>-" at the start of s. */
static bool parse_owner(const char *s, long *pid, unsigned long long *ticks) {
  long p = 0;
  unsigned long long t = 0;
  const char *c = s;
  if (*c < '0' || *c > '9')
    return false;
  for (; *c >= '0' && *c <= '9' && p < 100000000L; c++)
    p = p * 10 + (*c - '0');
  if (*c++ != '-' || *c < '0' || *c > '9')
    return false;
  for (; *c >= '0' && *c <= '9' && t < 1000000000000000000ULL; c++)
    t = t * 10 + (unsigned long long)(*c - '0');
  if (*c != '-' || p <= 0)
    return false;
  *pid = p;
  *ticks = t;
  return true;
}

bool tml_tmpdir_stale(const char *path, int64_t now_ms, int64_t min_age_ms, char *why, size_t whysz) {
  const char *name = strrchr(path, '/');
  name = name ? name + 1 : path;
  if (strncmp(name, TML_TMPDIR_PREFIX, strlen(TML_TMPDIR_PREFIX)) != 0)
    return false;
  struct stat st;
  if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
    return false;
  int64_t age_ms = now_ms - (int64_t)st.st_mtime * 1000;
  long pid;
  unsigned long long ticks;
  bool stale;
  char owner[96];
  if (parse_owner(name + strlen(TML_TMPDIR_PREFIX), &pid, &ticks)) {
    unsigned long long now_ticks = proc_start_ticks(pid);
    bool alive;
    if (now_ticks)
      alive = ticks == 0 || now_ticks == ticks; /* same pid, same start: the same process */
    else if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
      alive = true; /* exists, but /proc cannot tell its start time: assume it is the owner */
    else
      alive = false;
    snprintf(owner, sizeof(owner), "process %ld that created it is %s", pid, alive ? "still running" : "gone");
    stale = !alive && age_ms >= min_age_ms;
  } else {
    snprintf(owner, sizeof(owner), "its name records no process (an older trademl made it)");
    stale = age_ms >= TML_TMPDIR_NO_OWNER_AGE_MS && age_ms >= min_age_ms;
  }
  if (why && whysz) {
    int64_t min = age_ms / 60000;
    if (min < 120)
      snprintf(why, whysz, "%s; last changed %" PRId64 " min ago", owner, min);
    else
      snprintf(why, whysz, "%s; last changed %.1f h ago", owner, (double)age_ms / 3600000.0);
  }
  return stale;
}
