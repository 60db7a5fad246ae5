/* trademl: the command-line face of the library. One table of subcommands (commands.def), each
 * implemented in cmd_<name>.c; global flags --home and --config are taken before the subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "trademl/nn.h"

static const struct {
  const char *name;
  cli_cmd_fn fn;
  const char *summary;
} commands[] = {
#define CMD(name, fn, summary) {#name, fn, summary},
#include "commands.def"
#undef CMD
};

static void usage(FILE *f) {
  fprintf(f, "usage: trademl [--home DIR] [--config FILE] [--set KEY=VALUE]... <command> [options]\n\nCommands:\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nRun 'trademl <command> --help' for a command's options.\n"
             "State lives under ./var (or $TRADEML_HOME / --home); configuration in ./trademl.yaml.\n");
}

int cmd_version(int argc, char **argv) {
  (void)argc;
  (void)argv;
  printf("trademl %s\n", TML_VERSION);
  return 0;
}

int main(int argc, char **argv) {
  tml_nn_blas_park(); /* before any work: OpenBLAS's loader-started threads spin otherwise */
  int i = 1;
  for (; i < argc; i++) {
    if ((strcmp(argv[i], "--home") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
      if (argv[i][2] == 'h')
        cli_globals.home = argv[i + 1];
      else
        cli_globals.config_path = argv[i + 1];
      i++;
    } else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
      if (cli_globals.nsets >= CLI_MAX_SETS) {
        fprintf(stderr, "trademl: error: more than %d --set flags\n", CLI_MAX_SETS);
        return 2;
      }
      cli_globals.sets[cli_globals.nsets++] = argv[++i];
    } else if (strncmp(argv[i], "--home=", 7) == 0) {
      cli_globals.home = argv[i] + 7;
    } else if (strncmp(argv[i], "--config=", 9) == 0) {
      cli_globals.config_path = argv[i] + 9;
    } else {
      break;
    }
  }
  if (i >= argc || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "help") == 0) {
    usage(i >= argc ? stderr : stdout);
    return i >= argc ? 2 : 0;
  }
  if (strcmp(argv[i], "--version") == 0)
    return cmd_version(0, NULL);
  for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
    if (strcmp(argv[i], commands[c].name) == 0)
      return commands[c].fn(argc - i, argv + i);
  fprintf(stderr, "trademl: error: unknown command '%s'\n\n", argv[i]);
  usage(stderr);
  return 2;
}
