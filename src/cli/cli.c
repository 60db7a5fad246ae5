/* Option parsing and error output shared by all subcommands. */
#include "cli.h"
#include "trademl/jobs.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct cli_globals cli_globals;

volatile sig_atomic_t cli_stop_signal;

static void on_stop_signal(int sig) { cli_stop_signal = sig; }

void cli_catch_stop_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

void cli_print_usage(const char *usage, const struct cli_opt *opts, size_t nopts) {
  fprintf(stdout, "%s\n", usage);
  if (nopts)
    fprintf(stdout, "\nOptions:\n");
  for (size_t i = 0; i < nopts; i++) {
    char left[64];
    if (opts[i].kind == CLI_FLAG)
      snprintf(left, sizeof(left), "--%s", opts[i].name);
    else if (opts[i].kind == CLI_VALUE)
      snprintf(left, sizeof(left), "--%s %s", opts[i].name, opts[i].metavar ? opts[i].metavar : "VALUE");
    else
      snprintf(left, sizeof(left), "--%s %s...", opts[i].name, opts[i].metavar ? opts[i].metavar : "VALUE");
    fprintf(stdout, "  %-30s %s", left, opts[i].help);
    if (opts[i].config_key)
      fprintf(stdout, " [config: %s]", opts[i].config_key);
    fputc('\n', stdout);
  }
  fprintf(stdout, "  %-30s %s\n", "--help", "show this help");
}

static int find_opt(const struct cli_opt *opts, size_t nopts, const char *name, size_t len) {
  for (size_t i = 0; i < nopts; i++)
    if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
      return (int)i;
  return -1;
}

static int add_value(struct cli_args *a, int opt, const char *v) {
  if (a->nvalues >= CLI_MAX_VALUES)
    return -1;
  a->values[a->nvalues] = v;
  a->value_opt[a->nvalues] = opt;
  a->nvalues++;
  return 0;
}

int cli_parse(struct cli_args *a, const struct cli_opt *opts, size_t nopts, int argc, char **argv,
              const char *usage, int *exit_code) {
  memset(a, 0, sizeof(*a));
  a->opts = opts;
  a->nopts = nopts;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli_print_usage(usage, opts, nopts);
      *exit_code = 0;
      return 1;
    }
    if (strcmp(arg, "--") == 0) {
      for (i++; i < argc; i++)
        add_value(a, -1, argv[i]);
      break;
    }
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
      if (add_value(a, -1, arg)) {
        fprintf(stderr, "trademl: error: too many arguments\n");
        *exit_code = 2;
        return 1;
      }
      continue;
    }
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    int o = find_opt(opts, nopts, name, nlen);
    if (o < 0) {
      fprintf(stderr, "trademl: error: unknown option '--%.*s' (see --help)\n", (int)nlen, name);
      *exit_code = 2;
      return 1;
    }
    if (o < 64)
      a->seen[o] = true;
    if (opts[o].kind == CLI_FLAG) {
      if (eq) {
        fprintf(stderr, "trademl: error: option '--%s' takes no value\n", opts[o].name);
        *exit_code = 2;
        return 1;
      }
      continue;
    }
    int got = 0;
    if (eq) {
      add_value(a, o, eq + 1);
      got++;
    }
    if (opts[o].kind == CLI_VALUE && !eq) {
      if (i + 1 >= argc) {
        fprintf(stderr, "trademl: error: option '--%s' needs a value (%s)\n", opts[o].name,
                opts[o].metavar ? opts[o].metavar : "VALUE");
        *exit_code = 2;
        return 1;
      }
      add_value(a, o, argv[++i]);
      got++;
    } else if (opts[o].kind == CLI_LIST) {
      while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
        if (add_value(a, o, argv[++i])) {
          fprintf(stderr, "trademl: error: too many values for '--%s'\n", opts[o].name);
          *exit_code = 2;
          return 1;
        }
        got++;
      }
      if (got == 0) {
        fprintf(stderr, "trademl: error: option '--%s' needs at least one value\n", opts[o].name);
        *exit_code = 2;
        return 1;
      }
    }
  }
  return 0;
}

static int opt_index(const struct cli_args *a, const char *name) {
  return find_opt(a->opts, a->nopts, name, strlen(name));
}

bool cli_has(const struct cli_args *a, const char *name) {
  int o = opt_index(a, name);
  return o >= 0 && o < 64 && a->seen[o];
}

const char *cli_get(const struct cli_args *a, const char *name) {
  int o = opt_index(a, name);
  const char *v = NULL;
  for (size_t i = 0; o >= 0 && i < a->nvalues; i++)
    if (a->value_opt[i] == o)
      v = a->values[i];
  return v;
}

size_t cli_get_list(const struct cli_args *a, const char *name, const char **out, size_t max) {
  int o = opt_index(a, name);
  size_t n = 0;
  for (size_t i = 0; o >= 0 && i < a->nvalues && n < max; i++)
    if (a->value_opt[i] == o)
      out[n++] = a->values[i];
  return n;
}

size_t cli_positionals(const struct cli_args *a, const char **out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < a->nvalues && n < max; i++)
    if (a->value_opt[i] == -1)
      out[n++] = a->values[i];
  return n;
}

int cli_fail(const struct tml_error *err) {
  if (err && err->code) {
    fprintf(stderr, "trademl: error: %s\n", err->msg[0] ? err->msg : tml_strerror(err->code));
    tml_job_report_error(err->code, err->msg); /* tells a worker whether a retry can help */
    return tml_error_exit_code(err->code);
  }
  fprintf(stderr, "trademl: error: unknown failure\n");
  return 1;
}

int cli_usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char msg[1024];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fprintf(stderr, "trademl: error: %s\n", msg);
  tml_job_report_error(TML_EUSAGE, msg);
  return 2;
}
