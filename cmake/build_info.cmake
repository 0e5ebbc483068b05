# Writes build_info.h with the version and the current git commit. Runs at
# every build (not only at configure time) so `quantpipe --version` names the
# commit the binary was built from; configure_file leaves the header untouched
# when nothing changed, so nothing recompiles needlessly.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE QUANTPIPE_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT QUANTPIPE_GIT_COMMIT)
  set(QUANTPIPE_GIT_COMMIT "unknown")
endif()
configure_file(${SOURCE_DIR}/src/core/build_info.h.in ${OUTPUT} @ONLY)
