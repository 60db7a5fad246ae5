/* runner: how a child's exit and the error it reported become a job outcome. The retry decision comes
 * from the error table's retry column (error.h), in one place: tml_job_outcome_of. */
#include "test.h"

#include "trademl/error.h"
#include "trademl/jobs.h"

TEST(permanent_errors_fail_at_once_transient_errors_retry) {
  /* Cannot succeed on retry: too little data, an unknown symbol (the exchanges answer EINVAL), a host
   * name that does not resolve, bad input, a usage error. */
  const int permanent[] = {TML_EDATA, TML_EINVAL, TML_ENOHOST, TML_EPARSE, TML_EUSAGE, TML_EMODEL, TML_EPERM};
  for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++) {
    CHECK_MSG(!tml_error_retryable(permanent[i]), "%s must not be retryable", tml_errname(permanent[i]));
    CHECK_INT(tml_job_outcome_of(TML_JOB_TRAIN, tml_error_exit_code(permanent[i]), permanent[i]), TML_OUTCOME_FATAL);
    CHECK_INT(tml_job_outcome_of(TML_JOB_FETCH, tml_error_exit_code(permanent[i]), permanent[i]), TML_OUTCOME_FATAL);
  }
  /* May succeed when repeated: network blips, timeouts, rate limits, busy databases, exchange 5xx. */
  const int transient[] = {TML_ENET, TML_ETIMEDOUT, TML_ERATELIMIT, TML_EBUSY, TML_EEXCHANGE, TML_EDB, TML_EIO};
  for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
    CHECK_MSG(tml_error_retryable(transient[i]), "%s must be retryable", tml_errname(transient[i]));
    CHECK_INT(tml_job_outcome_of(TML_JOB_FETCH, 1, transient[i]), TML_OUTCOME_FAILED);
  }
}

TEST(exit_codes_without_a_report_keep_their_meaning) {
  CHECK_INT(tml_job_outcome_of(TML_JOB_TRAIN, 0, 0), TML_OUTCOME_SUCCEEDED);
  CHECK_INT(tml_job_outcome_of(TML_JOB_VALIDATE, 3, TML_EGATE), TML_OUTCOME_SUCCEEDED); /* a gate verdict */
  CHECK_INT(tml_job_outcome_of(TML_JOB_TRAIN, 3, 0), TML_OUTCOME_FAILED);
  CHECK_INT(tml_job_outcome_of(TML_JOB_TRAIN, 2, 0), TML_OUTCOME_FATAL);               /* usage */
  CHECK_INT(tml_job_outcome_of(TML_JOB_TRAIN, 1, 0), TML_OUTCOME_FAILED);              /* unknown: retry */
  CHECK_INT(tml_job_outcome_of(TML_JOB_TRAIN, -9, TML_EDATA), TML_OUTCOME_FAILED);     /* killed: retry */
  CHECK(tml_error_retryable(-9999));                                                    /* unknown code */
}
