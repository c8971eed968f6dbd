// Every reason jwtguard can give for refusing a token or a setting.
//
// One enum, one stable snake_case name per value (`to_string`, printed by the
// CLI and safe for scripts and logs to match on), one human sentence per value
// (`message`), and a std::error_category so the values travel as
// std::error_code. The list is an X-macro so names and messages cannot drift
// from the enum.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

// X(value, message). Names are the value names; never rename one.
#define JWTGUARD_ERRORS(X)                                                                  \
    X(ok, "the token is valid")                                                             \
    /* setup: keys and options */                                                           \
    X(key_too_short, "the key is shorter than its algorithm allows")                        \
    X(key_invalid, "the key cannot be used")                                                \
    X(option_invalid, "a validator option is out of range")                                 \
    /* size and shape */                                                                    \
    X(token_too_large, "the token is longer than the size limit")                           \
    X(token_malformed, "the token does not have exactly three dot-separated segments")      \
    X(header_base64_invalid, "the header segment is not strict unpadded base64url")         \
    X(header_base64_non_canonical, "the header segment has non-zero trailing bits")         \
    X(payload_base64_invalid, "the payload segment is not strict unpadded base64url")       \
    X(payload_base64_non_canonical, "the payload segment has non-zero trailing bits")       \
    X(signature_base64_invalid, "the signature segment is not strict unpadded base64url")   \
    X(signature_base64_non_canonical, "the signature segment has non-zero trailing bits")   \
    /* header JSON */                                                                       \
    X(header_json_invalid, "the header is not valid JSON")                                  \
    X(header_not_object, "the header is not a JSON object")                                 \
    X(header_invalid_utf8, "the header is not valid UTF-8 (or escapes a lone surrogate)")   \
    X(header_too_deep, "the header nests deeper than the depth limit")                      \
    X(header_too_many_members, "the header has more members than the limit")                \
    X(header_duplicate_member, "the header has a duplicate member name")                    \
    /* header parameters */                                                                 \
    X(alg_missing, "the header has no alg")                                                 \
    X(alg_invalid, "the header alg is not a string")                                        \
    X(alg_none, "the header alg is none")                                                   \
    X(alg_mismatch, "the header alg is not the algorithm of the selected key")              \
    X(kid_invalid, "the header kid is not a string")                                        \
    X(kid_unknown, "no key has the header kid")                                             \
    X(kid_missing, "the header has no kid and the key set holds several keys for its alg")  \
    X(typ_invalid, "the header typ is not a string")                                        \
    X(typ_missing, "the header has no typ and a type is required")                          \
    X(typ_mismatch, "the header typ is not the required type")                              \
    X(cty_invalid, "the header cty is not a string")                                        \
    X(cty_nested_jwt, "the header cty announces a nested JWT, which is not supported")      \
    X(crit_unsupported, "the header has crit: no extension is understood")                  \
    /* signature */                                                                         \
    X(signature_length, "the signature has the wrong length for the algorithm")             \
    X(signature_invalid, "the signature does not match")                                    \
    /* payload JSON */                                                                      \
    X(payload_json_invalid, "the payload is not valid JSON")                                \
    X(payload_not_object, "the payload is not a JSON object")                               \
    X(payload_invalid_utf8, "the payload is not valid UTF-8 (or escapes a lone surrogate)") \
    X(payload_too_deep, "the payload nests deeper than the depth limit")                    \
    X(payload_too_many_members, "the payload has more members than the limit")              \
    X(payload_duplicate_member, "the payload has a duplicate member name")                  \
    /* claim types */                                                                       \
    X(exp_invalid, "exp is not a NumericDate in [0, 2^53]")                                 \
    X(nbf_invalid, "nbf is not a NumericDate in [0, 2^53]")                                 \
    X(iat_invalid, "iat is not a NumericDate in [0, 2^53]")                                 \
    X(iss_invalid, "iss is not a string")                                                   \
    X(sub_invalid, "sub is not a string")                                                   \
    X(jti_invalid, "jti is not a string")                                                   \
    X(aud_invalid, "aud is neither a string nor a non-empty array of strings")              \
    X(aud_too_many, "aud has more entries than the limit")                                  \
    /* claim checks */                                                                      \
    X(now_invalid, "the time given for the check is not a NumericDate in [0, 2^53]")        \
    X(exp_missing, "the token has no exp and one is required")                              \
    X(expired, "the token has expired")                                                     \
    X(not_yet_valid, "the token is not valid yet (nbf)")                                    \
    X(iat_in_future, "the token was issued in the future (iat)")                            \
    X(iat_missing, "the token has no iat and a maximum lifetime is set")                    \
    X(lifetime_exceeded, "the token lives longer than the maximum lifetime (exp - iat)")    \
    X(iss_missing, "the token has no iss and an issuer is required")                        \
    X(iss_mismatch, "the token iss is not an accepted issuer")                              \
    X(aud_missing, "the token has no aud and an audience is required")                      \
    X(aud_mismatch, "no aud entry is an accepted audience")                                 \
    /* revocation */                                                                        \
    X(revoked, "the token has been revoked")                                                \
    X(subject_revoked, "every token of this subject issued before a cut-off has been revoked")

namespace jwtguard {

/// Why a token or a setting was refused; `ok` means accepted.
enum class Error : std::uint8_t {
#define JWTGUARD_ERROR_ENUM(name, text) name,
    JWTGUARD_ERRORS(JWTGUARD_ERROR_ENUM)
#undef JWTGUARD_ERROR_ENUM
};

namespace detail {
#define JWTGUARD_ERROR_COUNT(name, text) +1
inline constexpr std::size_t error_count = 0 JWTGUARD_ERRORS(JWTGUARD_ERROR_COUNT);
#undef JWTGUARD_ERROR_COUNT

inline constexpr std::string_view error_names[error_count] = {
#define JWTGUARD_ERROR_NAME(name, text) #name,
    JWTGUARD_ERRORS(JWTGUARD_ERROR_NAME)
#undef JWTGUARD_ERROR_NAME
};

inline constexpr std::string_view error_messages[error_count] = {
#define JWTGUARD_ERROR_MESSAGE(name, text) text,
    JWTGUARD_ERRORS(JWTGUARD_ERROR_MESSAGE)
#undef JWTGUARD_ERROR_MESSAGE
};
}  // namespace detail

/// Number of Error values (they are 0 .. error_count - 1).
inline constexpr std::size_t error_count = detail::error_count;

/// The stable snake_case name of `e` ("expired", "alg_none", ...).
[[nodiscard]] constexpr std::string_view to_string(Error e) noexcept {
    const auto i = static_cast<std::size_t>(e);
    return i < error_count ? detail::error_names[i] : std::string_view("unknown_error");
}

/// One sentence saying what was wrong.
[[nodiscard]] constexpr std::string_view message(Error e) noexcept {
    const auto i = static_cast<std::size_t>(e);
    return i < error_count ? detail::error_messages[i] : std::string_view("unknown error");
}

namespace detail {
class ErrorCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "jwtguard"; }
    std::string message(int value) const override {
        return std::string(jwtguard::message(static_cast<Error>(value)));
    }
};
}  // namespace detail

/// The std::error_category of jwtguard::Error.
[[nodiscard]] inline const std::error_category& error_category() noexcept {
    static const detail::ErrorCategory category;
    return category;
}

[[nodiscard]] inline std::error_code make_error_code(Error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// Thrown by setup (loading keys, building a Validator), never by validation.
class SetupError : public std::invalid_argument {
  public:
    SetupError(Error code, const std::string& what) : std::invalid_argument(what), m_code(code) {}
    [[nodiscard]] Error code() const noexcept { return m_code; }

  private:
    Error m_code;
};

}  // namespace jwtguard

template <>
struct std::is_error_code_enum<jwtguard::Error> : std::true_type {};
