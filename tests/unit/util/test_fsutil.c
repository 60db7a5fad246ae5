#include "test.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"

#include <stdlib.h>

TEST(paths_follow_flag_then_env) {
  struct tml_paths p;
  struct tml_error err;
  tml_error_init(&err);
  unsetenv("TRADEML_HOME");
  CHECK_OK(tml_paths_resolve(NULL, &p, &err), &err);
  CHECK_STR(p.db, "var/trademl.db");
  setenv("TRADEML_HOME", "/tmp/x/", 1);
  CHECK_OK(tml_paths_resolve(NULL, &p, &err), &err);
  CHECK_STR(p.models, "/tmp/x/models");
  CHECK_OK(tml_paths_resolve("/srv/h", &p, &err), &err);
  CHECK_STR(p.logs, "/srv/h/logs");
  unsetenv("TRADEML_HOME");
}

TEST(atomic_write_and_rm_rf) {
  struct tml_error err;
  tml_error_init(&err);
  char *dir = tml_test_tmpdir("fsutil");
  char path[4200], sub[4096];
  snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
  CHECK_OK(tml_mkdir_p(sub, &err), &err);
  CHECK(tml_path_is_dir(sub));
  snprintf(path, sizeof(path), "%s/f.json", sub);
  CHECK_OK(tml_write_file_atomic(path, "{}", 2, &err), &err);
  char *data;
  size_t len;
  CHECK_OK(tml_read_file(path, &data, &len, &err), &err);
  CHECK_INT(len, 2);
  CHECK_STR(data, "{}");
  free(data);
  snprintf(sub, sizeof(sub), "%s/a", dir);
  CHECK_OK(tml_rm_rf(sub, &err), &err);
  CHECK(!tml_path_exists(sub));
  CHECK_INT(tml_read_file(path, &data, &len, &err), TML_ENOENT);
  CHECK_CONTAINS(err.msg, "f.json");
  free(dir);
}
