/* Minimal candle CSV loader for the feature tests and the benchmark, until they switch to the
 * importer: header line skipped; columns open_time (ms), open, high, low, close, volume; further
 * columns ignored. Header-only (static functions). */
#ifndef TML_CSV_FIXTURE_H
#define TML_CSV_FIXTURE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trademl/series.h"

/* Parses the next comma-separated number of *p into *out; advances *p past the comma. */
static int csv_fixture_field(char **p, double *out) {
  char *end;
  errno = 0;
  *out = strtod(*p, &end);
  if (end == *p || errno)
    return -1;
  *p = *end == ',' ? end + 1 : end;
  return 0;
}

/* Loads up to max_rows candles (0 = all) from `path` into `out` (initialised here; the caller
 * releases it). interval_ms 0 = the smallest step between consecutive open times.
 * Returns 0, or -1 with a message on stderr. */
static int csv_fixture_load(const char *path, size_t max_rows, int64_t interval_ms,
                            struct tml_candles *out) {
  tml_candles_init(out, "FIXTURE", interval_ms);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "csv_fixture: cannot open %s\n", path);
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  size_t lineno = 0;
  int rc = 0;
  int64_t step = 0;
  while (getline(&line, &cap, f) > 0) {
    if (lineno++ == 0)
      continue; /* header */
    if (line[0] == '\n' || line[0] == '\r' || line[0] == 0)
      continue;
    if (max_rows && out->len >= max_rows)
      break;
    char *p = line, *end;
    errno = 0;
    long long t = strtoll(p, &end, 10);
    if (end == p || *end != ',' || errno) {
      fprintf(stderr, "csv_fixture: %s line %zu: bad open_time\n", path, lineno);
      rc = -1;
      break;
    }
    p = end + 1;
    double v[5];
    for (int i = 0; i < 5 && rc == 0; i++)
      if (csv_fixture_field(&p, &v[i]) != 0) {
        fprintf(stderr, "csv_fixture: %s line %zu: bad column %d\n", path, lineno, i + 2);
        rc = -1;
      }
    if (rc)
      break;
    if (out->len > 0) {
      int64_t d = (int64_t)t - out->open_time[out->len - 1];
      if (d > 0 && (step == 0 || d < step))
        step = d;
    }
    if (tml_candles_push(out, (int64_t)t, v[0], v[1], v[2], v[3], v[4]) != 0) {
      rc = -1;
      break;
    }
  }
  free(line);
  fclose(f);
  if (rc == 0 && interval_ms == 0)
    out->interval_ms = step;
  if (rc)
    tml_candles_release(out);
  return rc;
}

#endif
