/* The configuration file (trademl.yaml, `--config`, `trademl config check`): the input is the file.
 * tml_config_check_file reads it over the defaults; when it is accepted, tml_config_load builds the
 * whole configuration from it and both renderings of `trademl config show` are produced; the stored
 * cron schedule must still parse. */
#include "fuzz.h"

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/cron.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_quiet();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[600], home[600];
  fuzz_write("trademl.yaml", data, size, path, sizeof(path));
  snprintf(home, sizeof(home), "%s/home", fuzz_dir());
  struct tml_error err;
  tml_error_init(&err);
  int rc = tml_config_check_file(path, &err);
  if (rc) {
    if (!err.msg[0])
      abort(); /* a refused file is named with the reason */
    return 0;
  }
  struct tml_config *c = NULL;
  tml_error_init(&err);
  rc = tml_config_load(path, home, &c, &err);
  if (rc) {
    if (!err.msg[0])
      abort();
    return 0;
  }
  /* The stored (normalized) schedule must still be one the scheduler accepts. */
  struct tml_cron cron;
  if (tml_cron_parse(tml_config_get(c, "training.cron_schedule"), &cron, NULL) != 0)
    abort();
  struct tml_buf b;
  tml_buf_init(&b, 0);
  if (tml_config_show(c, true, &b) || tml_config_show(c, false, &b))
    abort();
  tml_buf_release(&b);
  tml_config_free(c);
  return 0;
}
