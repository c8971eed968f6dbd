# ctest driver: the optional parts (cmake/JwtguardOptional.cmake) follow
# their dependencies at every configure. One throwaway build tree is
# configured with every pkg-config dependency hidden, then again with them
# visible (the part appears), then with ON while hidden (a clear failure)
# and OFF while visible (left out, and said so).
foreach(var SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/no-pkgconfig")
set(build "${WORK_DIR}/build")
set(hidden ${CMAKE_COMMAND} -E env "PKG_CONFIG_LIBDIR=${WORK_DIR}/no-pkgconfig")
set(args -S "${SOURCE_DIR}" -B "${build}" -DJWTGUARD_BUILD_TESTS=OFF -DJWTGUARD_BUILD_TOOLS=OFF
  -DJWTGUARD_INSTALL=OFF)

# part | pkg-config module | Debian package | cache variable
set(parts
  "Redis mirror (tests, benchmark, example's --redis)|hiredis|libhiredis-dev|JWTGUARD_WITH_REDIS"
  "example HTTP server|cpp-httplib|libcpp-httplib-dev|JWTGUARD_BUILD_EXAMPLES"
  "libjwt peer benchmark|libjwt|libjwt-dev|JWTGUARD_BENCH_LIBJWT")

function(configure expect_rc)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL expect_rc)
    message(FATAL_ERROR "configure gave ${rc}, expected ${expect_rc}: ${ARGN}\n${out}\n${err}")
  endif()
  set(output "${out}${err}" PARENT_SCOPE)
endfunction()

# The record holds `text` (a whole line when it ends with \n).
function(expect_text text)
  file(READ "${build}/optional-parts.txt" record)
  string(FIND "${record}" "${text}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "optional-parts.txt lacks \"${text}\"; it says:\n${record}")
  endif()
endfunction()

find_program(PKG_CONFIG pkg-config REQUIRED)
set(visible_parts 0)

# 1. Hidden: every part is left out, and the record names the package.
configure(0 ${hidden} ${CMAKE_COMMAND} ${args})
foreach(entry IN LISTS parts)
  string(REPLACE "|" ";" f "${entry}")
  list(GET f 0 part)
  list(GET f 2 package)
  expect_text("${part}: not built: ")
  expect_text("(Debian: ${package})\n")
endforeach()

# 2. The same tree, dependencies visible: the parts whose dependency this
# machine has appear (the first configure's answer is not kept).
configure(0 ${CMAKE_COMMAND} ${args})
foreach(entry IN LISTS parts)
  string(REPLACE "|" ";" f "${entry}")
  list(GET f 0 part)
  list(GET f 1 module)
  execute_process(COMMAND ${PKG_CONFIG} --exists ${module} RESULT_VARIABLE missing)
  if(missing EQUAL 0)
    expect_text("${part}: built\n")
    math(EXPR visible_parts "${visible_parts} + 1")
  endif()
endforeach()

# 3. ON is "required": hidden, configure fails and says what to install (in a
# tree of its own: pkg-config results, once found, stay cached).
configure(1 ${hidden} ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/required"
  -DJWTGUARD_BUILD_TESTS=OFF -DJWTGUARD_BUILD_TOOLS=OFF -DJWTGUARD_INSTALL=OFF
  -DJWTGUARD_WITH_REDIS=ON)
string(FIND "${output}" "JWTGUARD_WITH_REDIS=ON, but hiredis not found (Debian: libhiredis-dev)"
  at)
if(at EQUAL -1)
  message(FATAL_ERROR "ON without hiredis did not say why:\n${output}")
endif()

# 4. OFF is "never", said so even with the dependency there.
configure(0 ${CMAKE_COMMAND} ${args} -DJWTGUARD_WITH_REDIS=OFF)
expect_text("Redis mirror (tests, benchmark, example's --redis): not built: JWTGUARD_WITH_REDIS=OFF\n")

# 5. The nginx module follows nginx-dev's source tree (JWTGUARD_NGINX_SRC),
# which is a folder, not a pkg-config module: hidden by pointing elsewhere.
set(nginx_part "nginx module (integrations/nginx)")
configure(0 ${CMAKE_COMMAND} ${args} -DJWTGUARD_WITH_REDIS=AUTO
  "-DJWTGUARD_NGINX_SRC=${WORK_DIR}/no-nginx")
expect_text("${nginx_part}: not built: nginx-dev not found (Debian: nginx-dev)\n")
configure(1 ${CMAKE_COMMAND} ${args} "-DJWTGUARD_NGINX_SRC=${WORK_DIR}/no-nginx"
  -DJWTGUARD_WITH_NGINX=ON)
string(FIND "${output}" "JWTGUARD_WITH_NGINX=ON, but nginx-dev not found (Debian: nginx-dev)" at)
if(at EQUAL -1)
  message(FATAL_ERROR "ON without nginx-dev did not say why:\n${output}")
endif()
if(EXISTS /usr/share/nginx/src/conf_flags)
  configure(0 ${CMAKE_COMMAND} ${args} -DJWTGUARD_NGINX_SRC=/usr/share/nginx/src
    -DJWTGUARD_WITH_NGINX=AUTO)
  expect_text("${nginx_part}: built\n")
  math(EXPR visible_parts "${visible_parts} + 1")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
if(visible_parts EQUAL 0)
  # ctest marks the test skipped on this line (SKIP_REGULAR_EXPRESSION).
  message("SKIP: no optional dependency is installed here, so none could appear")
endif()
