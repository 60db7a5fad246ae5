/* trademl config show|get|keys|check: the effective configuration and where each value came from,
 * the table of known keys, and validation of a file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_config.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/fsutil.h"

static int print_buf(struct tml_buf *b) {
  fputs(tml_buf_str(b), stdout);
  tml_buf_release(b);
  return 0;
}

/* --set KEY=VALUE pairs, applied like flags (origin "--set"). */
static int apply_sets(const struct cli_args *a, struct tml_config *c, struct tml_error *err) {
  const char *sets[CLI_MAX_VALUES];
  size_t n = cli_get_list(a, "set", sets, CLI_MAX_VALUES);
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(sets[i], '=');
    char key[256];
    if (!eq || eq == sets[i] || (size_t)(eq - sets[i]) >= sizeof(key))
      return tml_error_set(err, TML_EUSAGE, "--set expects KEY=VALUE, got '%s'", sets[i]);
    memcpy(key, sets[i], (size_t)(eq - sets[i]));
    key[eq - sets[i]] = '\0';
    int rc = tml_config_set(c, key, eq + 1, TML_CFG_FLAG, "--set", err);
    if (rc)
      return rc;
  }
  return tml_config_validate(c, err);
}

static int config_show(int argc, char **argv) {
  static const struct cli_opt opts[] = {
      {"json", CLI_FLAG, NULL, "print JSON: {\"file\",\"home\",\"keys\":{key:{value,source,origin}}}", NULL},
      {"set", CLI_LIST, "KEY=VALUE", "override keys as a command-line flag would", NULL},
      {"log-level", CLI_VALUE, "LEVEL", "debug, info, warning, error or off", "logging.level"},
  };
  struct cli_args a;
  int code;
  if (cli_parse(&a, opts, 3, argc, argv,
                "usage: trademl config show [--json] [--set KEY=VALUE...] [--log-level LEVEL]\n\n"
                "Prints every key's effective value and its origin: default, FILE:LINE, env VAR or flag.\n"
                "Layers: defaults < trademl.yaml (--config) < environment < flags. Secrets are masked.",
                &code))
    return code;
  const char *pos[1];
  if (cli_positionals(&a, pos, 1))
    return cli_usage_error("config show takes no arguments (see --help)");
  struct tml_error err;
  struct tml_paths paths;
  struct tml_config *cfg;
  tml_error_init(&err);
  int rc = cli_load_config(&a, &paths, &cfg, &err);
  if (!rc)
    rc = apply_sets(&a, cfg, &err);
  if (rc) {
    tml_config_free(cfg);
    return cli_fail(&err);
  }
  struct tml_buf b;
  tml_buf_init(&b, 0);
  rc = tml_config_show(cfg, cli_has(&a, "json"), &b);
  tml_config_free(cfg);
  if (rc) {
    tml_buf_release(&b);
    tml_error_set(&err, rc, "cannot format the configuration");
    return cli_fail(&err);
  }
  return print_buf(&b);
}

static int config_get(int argc, char **argv) {
  static const struct cli_opt opts[] = {
      {"origin", CLI_FLAG, NULL, "print where the value came from instead of the value", NULL},
  };
  struct cli_args a;
  int code;
  if (cli_parse(&a, opts, 1, argc, argv,
                "usage: trademl config get KEY [--origin]\n\nPrints one key's effective value (lists "
                "comma-separated; secrets are printed, so mind where the output goes).",
                &code))
    return code;
  const char *pos[2];
  if (cli_positionals(&a, pos, 2) != 1)
    return cli_usage_error("config get takes exactly one KEY (see 'trademl config keys')");
  struct tml_error err;
  struct tml_paths paths;
  struct tml_config *cfg;
  tml_error_init(&err);
  if (cli_load_config(&a, &paths, &cfg, &err))
    return cli_fail(&err);
  if (!tml_config_key_known(pos[0])) {
    tml_config_free(cfg);
    tml_error_set(&err, TML_EINVAL, "unknown key '%s'; 'trademl config keys' lists the known keys", pos[0]);
    return cli_fail(&err);
  }
  printf("%s\n", cli_has(&a, "origin") ? tml_config_origin(cfg, pos[0]) : tml_config_get(cfg, pos[0]));
  tml_config_free(cfg);
  return 0;
}

static void md_cell(struct tml_buf *b, const char *s) {
  for (; *s; s++)
    if (*s == '|')
      tml_buf_puts(b, "\\|");
    else
      tml_buf_putc(b, *s);
}

static int config_keys(int argc, char **argv) {
  static const struct cli_opt opts[] = {
      {"json", CLI_FLAG, NULL, "print a JSON array", NULL},
      {"markdown", CLI_FLAG, NULL, "print a Markdown table (docs/config.md)", NULL},
  };
  struct cli_args a;
  int code;
  if (cli_parse(&a, opts, 2, argc, argv,
                "usage: trademl config keys [--json|--markdown]\n\nLists every configuration key with "
                "its type, default, accepted values, environment variables and meaning.",
                &code))
    return code;
  const char *pos[1];
  if (cli_positionals(&a, pos, 1))
    return cli_usage_error("config keys takes no arguments (see --help)");
  bool json = cli_has(&a, "json"), md = cli_has(&a, "markdown");
  if (json && md)
    return cli_usage_error("choose one of --json and --markdown");
  struct tml_buf b;
  tml_buf_init(&b, 0);
  if (json)
    tml_buf_putc(&b, '[');
  if (md)
    tml_buf_puts(&b, "| key | type | default | accepted values | environment | meaning |\n"
                     "|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < tml_config_key_count(); i++) {
    struct tml_config_key_info k;
    tml_config_key_info(i, &k);
    if (json) {
      tml_buf_puts(&b, i ? ",\n{\"key\":" : "\n{\"key\":");
      tml_buf_json_str(&b, k.name);
      tml_buf_puts(&b, ",\"type\":");
      tml_buf_json_str(&b, k.type);
      tml_buf_puts(&b, ",\"default\":");
      tml_buf_json_str(&b, k.default_value);
      tml_buf_puts(&b, ",\"expected\":");
      tml_buf_json_str(&b, k.expected);
      tml_buf_puts(&b, ",\"env\":[");
      for (size_t e = 0; e < k.nenv; e++) {
        if (e)
          tml_buf_putc(&b, ',');
        tml_buf_json_str(&b, k.env[e]);
      }
      tml_buf_printf(&b, "],\"secret\":%s,\"help\":", k.secret ? "true" : "false");
      tml_buf_json_str(&b, k.help);
      tml_buf_putc(&b, '}');
    } else if (md) {
      tml_buf_printf(&b, "| `%s` | %s | `%s` | ", k.name, k.type, k.default_value[0] ? k.default_value : "\"\"");
      md_cell(&b, k.expected);
      tml_buf_puts(&b, " | ");
      for (size_t e = 0; e < k.nenv; e++)
        tml_buf_printf(&b, "%s`%s`", e ? ", " : "", k.env[e]);
      tml_buf_puts(&b, " | ");
      md_cell(&b, k.help);
      tml_buf_printf(&b, "%s |\n", k.secret ? " (secret: masked by `config show`)" : "");
    } else {
      tml_buf_printf(&b, "%s (%s) default: %s\n    %s\n    accepts %s\n    env:", k.name, k.type,
                     k.default_value[0] ? k.default_value : "\"\"", k.help, k.expected);
      for (size_t e = 0; e < k.nenv; e++)
        tml_buf_printf(&b, " %s", k.env[e]);
      tml_buf_puts(&b, k.secret ? "\n    secret: masked by 'config show'\n" : "\n");
    }
  }
  if (json)
    tml_buf_puts(&b, "\n]\n");
  return print_buf(&b);
}

static int config_check(int argc, char **argv) {
  struct cli_args a;
  int code;
  if (cli_parse(&a, NULL, 0, argc, argv,
                "usage: trademl config check FILE\n\nValidates a config file on its own (no environment): "
                "YAML syntax, known keys, types and ranges. Exit 0 when valid.",
                &code))
    return code;
  const char *pos[2];
  if (cli_positionals(&a, pos, 2) != 1)
    return cli_usage_error("config check takes exactly one FILE");
  struct tml_error err;
  tml_error_init(&err);
  if (tml_config_check_file(pos[0], &err))
    return cli_fail(&err);
  printf("%s: ok\n", pos[0]);
  return 0;
}

int cmd_config(int argc, char **argv) {
  static const struct {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
  } verbs[] = {
      {"check", config_check, "validate a config file"},
      {"get", config_get, "print one key's effective value"},
      {"keys", config_keys, "list every key: type, default, environment variables, meaning"},
      {"show", config_show, "print the effective configuration and where each value came from"},
  };
  const size_t nverbs = sizeof(verbs) / sizeof(verbs[0]);
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    FILE *f = argc < 2 ? stderr : stdout;
    fprintf(f, "usage: trademl config <verb> [options]\n\nVerbs:\n");
    for (size_t i = 0; i < nverbs; i++)
      fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\nFile: --config FILE, else ./trademl.yaml when present. See docs/config.md.\n");
    return argc < 2 ? 2 : 0;
  }
  for (size_t i = 0; i < nverbs; i++)
    if (strcmp(argv[1], verbs[i].name) == 0)
      return verbs[i].fn(argc - 1, argv + 1);
  return cli_usage_error("unknown verb 'config %s' (check, get, keys, show)", argv[1]);
}
