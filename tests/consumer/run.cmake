# ctest driver: builds tests/consumer against jwtguard in MODE
# (add_subdirectory or find_package) under WORK_DIR, then runs it.
foreach(var SOURCE_DIR WORK_DIR MODE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

set(consumer_args "")
if(MODE STREQUAL "add_subdirectory")
  list(APPEND consumer_args "-DJWTGUARD_SOURCE_DIR=${SOURCE_DIR}")
elseif(MODE STREQUAL "find_package")
  # Install the library alone into a private prefix first.
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/lib" -DJWTGUARD_BUILD_TESTS=OFF
      -DJWTGUARD_BUILD_BENCH=OFF -DJWTGUARD_BUILD_TOOLS=OFF -DJWTGUARD_INSTALL=ON
      "-DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix")
  run(${CMAKE_COMMAND} --install "${WORK_DIR}/lib")
  list(APPEND consumer_args "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
else()
  message(FATAL_ERROR "unknown MODE ${MODE}")
endif()
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/consumer" -B "${WORK_DIR}/consumer" ${consumer_args})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/consumer")
run("${WORK_DIR}/consumer/consumer")
