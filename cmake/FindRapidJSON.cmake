# Finds rapidjson (header-only) and defines the imported target RapidJSON::RapidJSON.
# Debian's rapidjson-dev ships a config file without a target; this module
# gives consumers and jwtguard one target name everywhere.
find_path(RapidJSON_INCLUDE_DIR NAMES rapidjson/reader.h)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RapidJSON REQUIRED_VARS RapidJSON_INCLUDE_DIR)
if(RapidJSON_FOUND AND NOT TARGET RapidJSON::RapidJSON)
  add_library(RapidJSON::RapidJSON INTERFACE IMPORTED)
  set_target_properties(RapidJSON::RapidJSON PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${RapidJSON_INCLUDE_DIR}")
endif()
mark_as_advanced(RapidJSON_INCLUDE_DIR)
