# Finds libsodium and defines the imported target Sodium::Sodium. jwtguard
# verifies Ed25519 with its allocation-free crypto_sign_verify_detached
# (include/jwtguard/ed25519.hpp). Debian: libsodium-dev.
find_path(Sodium_INCLUDE_DIR NAMES sodium.h)
find_library(Sodium_LIBRARY NAMES sodium)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Sodium REQUIRED_VARS Sodium_INCLUDE_DIR Sodium_LIBRARY)
if(Sodium_FOUND AND NOT TARGET Sodium::Sodium)
  add_library(Sodium::Sodium INTERFACE IMPORTED)
  set_target_properties(Sodium::Sodium PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${Sodium_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${Sodium_LIBRARY}")
endif()
mark_as_advanced(Sodium_INCLUDE_DIR Sodium_LIBRARY)
