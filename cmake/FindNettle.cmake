# Finds Nettle's public-key library (hogweed, with nettle and GMP under it)
# and defines the imported target Nettle::Hogweed. jwtguard verifies ECDSA
# with hogweed's allocation-free ecc_ecdsa_verify (include/jwtguard/ecdsa.hpp).
# Debian: nettle-dev (which brings libgmp-dev).
find_path(Nettle_INCLUDE_DIR NAMES nettle/ecdsa.h)
find_path(Nettle_GMP_INCLUDE_DIR NAMES gmp.h)
find_library(Nettle_HOGWEED_LIBRARY NAMES hogweed)
find_library(Nettle_NETTLE_LIBRARY NAMES nettle)
find_library(Nettle_GMP_LIBRARY NAMES gmp)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Nettle REQUIRED_VARS Nettle_INCLUDE_DIR Nettle_GMP_INCLUDE_DIR
  Nettle_HOGWEED_LIBRARY Nettle_NETTLE_LIBRARY Nettle_GMP_LIBRARY)
if(Nettle_FOUND AND NOT TARGET Nettle::Hogweed)
  add_library(Nettle::Hogweed INTERFACE IMPORTED)
  set_target_properties(Nettle::Hogweed PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${Nettle_INCLUDE_DIR};${Nettle_GMP_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES
      "${Nettle_HOGWEED_LIBRARY};${Nettle_NETTLE_LIBRARY};${Nettle_GMP_LIBRARY}")
endif()
mark_as_advanced(Nettle_INCLUDE_DIR Nettle_GMP_INCLUDE_DIR Nettle_HOGWEED_LIBRARY
  Nettle_NETTLE_LIBRARY Nettle_GMP_LIBRARY)
