# Runs `MPIEXEC -n 2 PROGRAM MODE` (with the MPIEXEC_* flags) under a timeout and passes when the
# job ends in time with a non-zero status and EXPECT in its output: a failed rank must stop the job
# with its message, not leave the others waiting. cmake -DMPIEXEC=... -DNUMPROC_FLAG=... -DPROGRAM=...
# -DMODE=... -DEXPECT=... -P expect_failure.cmake
execute_process(
  COMMAND ${MPIEXEC} ${NUMPROC_FLAG} 2 ${PREFLAGS} ${PROGRAM} ${MODE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 120)
message("${out}")
if(rc MATCHES "timeout")
  message(FATAL_ERROR "the job did not end within 120 s: a failed rank left the others waiting")
elseif(rc EQUAL 0)
  message(FATAL_ERROR "the job ended with status 0 although rank 1 failed")
endif()
string(FIND "${out}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the output lacks the failed rank's message \"${EXPECT}\" (status ${rc})")
endif()
message(STATUS "the job ended with status ${rc} and the message")
