# Optional parts of the build: each is a cache STRING AUTO | ON | OFF that is
# resolved again at every configure, so that installing a dependency later
# (scripts/bench.sh installs libjwt-dev after scripts/test.sh configured)
# brings its part in without a word from the user:
#   AUTO  built when its dependency is found now (the default);
#   ON    required: configure fails, naming the Debian package, without it;
#   OFF   never built.
# After jwtguard_optional(VAR ...), VAR is ON or OFF as a normal variable in
# the calling directory (it shadows the cache entry there and below, so
# `if(VAR)` means "built"), and one line per part goes to optional-parts.txt
# in the build tree ("<part>: built" or "<part>: not built: <why>"), which
# the scripts print at the end of a run. (A build tree configured before
# these were tri-state may hold OFF from its first configure: the summary
# then says "not built: VAR=OFF"; set it to AUTO or start afresh.) The
# other direction is pkg-config's: pkg_check_modules keeps a module it once
# found, so removing a package after a configure fails the build instead of
# turning AUTO off; configure a fresh tree then.

# Starts the record of this configure's optional parts.
function(jwtguard_optional_begin)
  file(WRITE "${PROJECT_BINARY_DIR}/optional-parts.txt" "")
endfunction()

# jwtguard_optional_missing(<missing> <found>): <missing> is a list of what
# a part lacks (each with its Debian package); it becomes one sentence, and
# <found> is TRUE when the list was empty: jwtguard_optional's arguments.
function(jwtguard_optional_missing missing found)
  string(JOIN ", and " text ${${missing}})
  set(${missing} "${text}" PARENT_SCOPE)
  if(text STREQUAL "")
    set(${found} TRUE PARENT_SCOPE)
  else()
    set(${found} FALSE PARENT_SCOPE)
  endif()
endfunction()

# jwtguard_optional(<var> <part> <found> <why-missing> [DEFAULT AUTO|OFF])
#   <part>         what is built, for people ("Redis mirror tests and benchmark")
#   <found>        TRUE when its dependencies are there now
#   <why-missing>  what is missing, with its Debian package
function(jwtguard_optional var part found why_missing)
  cmake_parse_arguments(PARSE_ARGV 4 arg "" "DEFAULT" "")
  if(NOT arg_DEFAULT)
    set(arg_DEFAULT AUTO)
  endif()
  set(${var} "${arg_DEFAULT}" CACHE STRING
    "${part}: AUTO (when found), ON (required) or OFF (never)")
  set_property(CACHE ${var} PROPERTY STRINGS AUTO ON OFF)
  string(TOUPPER "$CACHE{${var}}" mode)
  if(mode STREQUAL "AUTO")
    set(enabled ${found})
  elseif(mode)  # ON, TRUE, YES, 1
    if(NOT found)
      message(FATAL_ERROR "${var}=ON, but ${why_missing}; install it or configure with "
        "-D${var}=AUTO or OFF")
    endif()
    set(enabled TRUE)
  else()
    set(enabled FALSE)
  endif()
  if(enabled)
    set(${var} ON PARENT_SCOPE)
    set(line "${part}: built")
    message(STATUS "jwtguard: ${part}: built")
  else()
    set(${var} OFF PARENT_SCOPE)
    if(mode STREQUAL "AUTO")
      set(line "${part}: not built: ${why_missing}")
    else()
      set(line "${part}: not built: ${var}=OFF")
    endif()
    message(STATUS "jwtguard: ${line}")
  endif()
  file(APPEND "${PROJECT_BINARY_DIR}/optional-parts.txt" "${line}\n")
endfunction()
