/* trademl db init | status | migrate-from FILE: the database behind candles, jobs, the registry and the
 * live loop's state (data.database / TRADEML_DATABASE_URL; docs/postgresql.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_config.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/db.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/jobs.h"
#include "trademl/live.h"
#include "trademl/registry.h"
#include "trademl/store.h"

static const char usage[] =
    "usage: trademl db init | status | migrate-from SQLITE_FILE [--skip TABLE,...] [--json]\n"
    "\n"
    "init          create or migrate the schema of the configured database (data.database, environment\n"
    "              TRADEML_DATABASE_URL; empty = the SQLite file data.db_path). Versioned and idempotent:\n"
    "              run it after every upgrade; a database newer than this trademl is refused.\n"
    "status        the database, its backend and schema versions.\n"
    "migrate-from  copy an existing SQLite install (candles, registry rows, jobs, live predictions, ...) into\n"
    "              the configured PostgreSQL database, then store every registered model set's files in it.\n"
    "              Counts and checksums must match or nothing is written; re-running it is safe; a target\n"
    "              that holds other data is refused.";

static const struct cli_opt opts[] = {
    {"skip", CLI_VALUE, "TABLE,...", "migrate-from: leave these SQLite tables behind (ones PostgreSQL lacks)", NULL},
    {"json", CLI_FLAG, NULL, "print JSON", NULL},
};

/* Opens (and so creates or migrates) every part of the schema this trademl keeps in `location`. */
static int init_schema(const char *location, struct tml_error *err) {
  struct tml_store *store = NULL;
  struct tml_registry *reg = NULL;
  int rc = tml_store_open(location, &store, err);
  if (!rc)
    rc = tml_registry_open(location, &reg, err);
  if (!rc) {
    /* The job queue's tables (jobs, attempts, new-symbol queue, schedule slots, processes). */
    struct tml_jobs *jobs = NULL;
    rc = tml_jobs_open(location, NULL, &jobs, err);
    tml_jobs_close(jobs);
  }
  if (!rc) /* live predictions, symbol states and loop counters */
    rc = tml_live_tables_create(store, err);
  tml_registry_close(reg);
  tml_store_close(store);
  return rc;
}

static int show_status(const char *location, bool json, bool initialised, struct tml_error *err) {
  char shown[TML_PATH_MAX], versions[512] = "";
  tml_db_redact(location, shown, sizeof(shown));
  enum tml_db_kind kind = tml_db_kind_of(location);
  if (kind == TML_DB_POSTGRES) {
    int rc = tml_db_schema_summary(location, versions, sizeof(versions), err);
    if (rc)
      return rc;
  }
  struct tml_buf out;
  tml_buf_init(&out, 0);
  if (json) {
    tml_buf_puts(&out, "{\"database\":");
    tml_buf_json_str(&out, shown);
    tml_buf_printf(&out, ",\"backend\":\"%s\",\"schema\":", tml_db_kind_name(kind));
    tml_buf_json_str(&out, kind == TML_DB_POSTGRES ? versions : "sqlite tables (created on open)");
    tml_buf_printf(&out, ",\"initialised\":%s}\n", initialised ? "true" : "false");
  } else {
    tml_buf_printf(&out, "database  %s\nbackend   %s\nschema    %s\n", shown, tml_db_kind_name(kind),
                   kind == TML_DB_POSTGRES ? (versions[0] ? versions : "(none: run `trademl db init`)")
                                           : "sqlite tables (created on open)");
    if (initialised)
      tml_buf_puts(&out, "the schema is up to date\n");
  }
  fputs(tml_buf_str(&out), stdout);
  tml_buf_release(&out);
  return 0;
}

static const char *outcome_name(int o) {
  switch (o) {
  case TML_DB_COPIED:
    return "copied";
  case TML_DB_SAME:
    return "already there";
  case TML_DB_EMPTY:
    return "empty";
  default:
    return "skipped";
  }
}

/* Stores the files of every registered model set in the database (those on this host, not stored yet). */
static int upload_models(const char *location, size_t *uploaded, size_t *missing, char *missing_ids, size_t idsz,
                         struct tml_error *err) {
  *uploaded = *missing = 0;
  missing_ids[0] = '\0';
  struct tml_registry *reg = NULL;
  struct tml_model_row *rows = NULL;
  size_t n = 0;
  int rc = tml_registry_open(location, &reg, err);
  if (!rc)
    rc = tml_registry_list(reg, NULL, &rows, &n, err);
  for (size_t i = 0; !rc && i < n; i++) {
    bool did = false;
    rc = tml_registry_upload_files(reg, rows[i].id, &did, err);
    if (did)
      (*uploaded)++;
    if (!rc && rows[i].folder_missing) {
      (*missing)++;
      size_t len = strlen(missing_ids);
      if (len + 24 < idsz)
        snprintf(missing_ids + len, idsz - len, "%s%" PRId64, len ? ", " : "", rows[i].id);
    }
  }
  tml_model_rows_free(rows, n);
  tml_registry_close(reg);
  return rc;
}

static int migrate_from(const char *source, const char *target, const char *skip, bool json, struct tml_error *err) {
  if (tml_db_kind_of(target) != TML_DB_POSTGRES)
    return tml_error_set(err, TML_EUSAGE,
                         "db migrate-from moves a SQLite install into PostgreSQL: set data.database (or "
                         "TRADEML_DATABASE_URL) to the target postgresql:// URL first");
  if (tml_db_kind_of(source) != TML_DB_SQLITE)
    return tml_error_set(err, TML_EUSAGE, "db migrate-from: the source must be a SQLite file (var/trademl.db)");
  int rc = init_schema(target, err);
  struct tml_db_copy_report *rep = calloc(1, sizeof(*rep));
  if (!rc && !rep)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
  if (!rc)
    rc = tml_db_copy_sqlite_to_pg(source, target, skip, rep, err);
  size_t uploaded = 0, missing = 0;
  char missing_ids[512];
  if (!rc)
    rc = upload_models(target, &uploaded, &missing, missing_ids, sizeof(missing_ids), err);
  if (rc) {
    free(rep);
    return rc;
  }
  char shown[TML_PATH_MAX];
  tml_db_redact(target, shown, sizeof(shown));
  struct tml_buf out;
  tml_buf_init(&out, 0);
  if (json) {
    tml_buf_puts(&out, "{\"source\":");
    tml_buf_json_str(&out, source);
    tml_buf_puts(&out, ",\"target\":");
    tml_buf_json_str(&out, shown);
    tml_buf_puts(&out, ",\"tables\":[");
    for (size_t i = 0; i < rep->ntables; i++) {
      const struct tml_db_table_report *t = &rep->tables[i];
      tml_buf_printf(&out,
                     "%s{\"table\":\"%s\",\"source_rows\":%zu,\"target_rows\":%zu,\"source_checksum\":\"%s\","
                     "\"target_checksum\":\"%s\",\"outcome\":\"%s\"}",
                     i ? "," : "", t->table, t->source_rows, t->target_rows, t->source_sum, t->target_sum,
                     outcome_name(t->outcome));
    }
    tml_buf_printf(&out, "],\"model_files_uploaded\":%zu,\"model_folders_missing\":%zu}\n", uploaded, missing);
  } else {
    tml_buf_printf(&out, "%-20s %12s %12s %-17s %-17s %s\n", "TABLE", "SOURCE ROWS", "TARGET ROWS", "SOURCE CHECKSUM",
                   "TARGET CHECKSUM", "");
    for (size_t i = 0; i < rep->ntables; i++) {
      const struct tml_db_table_report *t = &rep->tables[i];
      tml_buf_printf(&out, "%-20s %12zu %12zu %-17s %-17s %s\n", t->table, t->source_rows, t->target_rows,
                     t->source_sum, t->target_sum, outcome_name(t->outcome));
    }
    tml_buf_printf(&out, "migrated '%s' into %s; files of %zu model set%s stored in the database\n", source, shown,
                   uploaded, uploaded == 1 ? "" : "s");
  }
  fputs(tml_buf_str(&out), stdout);
  tml_buf_release(&out);
  if (missing)
    fprintf(stderr,
            "trademl: warning: %zu registered model set%s (id %s) have no folder on this host, so their files are not "
            "in the database; run `trademl db migrate-from` again where they are\n",
            missing, missing == 1 ? "" : "s", missing_ids);
  free(rep);
  return 0;
}

int cmd_db(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  const char *pos[4];
  size_t npos = cli_positionals(&a, pos, 4);
  if (npos == 0)
    return cli_usage_error("db needs a verb: init, status or migrate-from");
  const char *verb = pos[0];
  bool is_init = strcmp(verb, "init") == 0, is_status = strcmp(verb, "status") == 0,
       is_migrate = strcmp(verb, "migrate-from") == 0;
  if (!is_init && !is_status && !is_migrate)
    return cli_usage_error("unknown db verb '%s' (init, status, migrate-from)", verb);
  if (is_migrate && npos != 2)
    return cli_usage_error("db migrate-from needs the SQLite file to move, e.g. var/trademl.db");
  if (!is_migrate && npos != 1)
    return cli_usage_error("db %s takes no arguments", verb);
  if (cli_get(&a, "skip") && !is_migrate)
    return cli_usage_error("--skip is for db migrate-from");
  struct tml_error err;
  tml_error_init(&err);
  struct tml_paths paths;
  struct tml_config *cfg = NULL;
  int rc = cli_load_config(&a, &paths, &cfg, &err);
  bool sqlite = tml_db_kind_of(paths.db) == TML_DB_SQLITE;
  if (!rc && sqlite && (is_init || is_migrate))
    rc = tml_paths_ensure(&paths, &err);
  if (!rc && is_init)
    rc = init_schema(paths.db, &err);
  if (!rc && (is_init || is_status))
    rc = show_status(paths.db, cli_has(&a, "json"), is_init, &err);
  if (!rc && is_migrate)
    rc = migrate_from(pos[1], paths.db, cli_get(&a, "skip"), cli_has(&a, "json"), &err);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}
