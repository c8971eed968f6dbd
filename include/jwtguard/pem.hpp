// Setup-side OpenSSL plumbing shared by the asymmetric families (rsa.hpp,
// ecdsa.hpp, ed25519.hpp): reading PEM keys and signing with EVP. Nothing
// here runs per validation; it allocates and throws SetupError.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "jwtguard/error.hpp"

namespace jwtguard::detail {

struct BnFree {
    void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct DecoderFree {
    void operator()(OSSL_DECODER_CTX* d) const noexcept { OSSL_DECODER_CTX_free(d); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using PkeyPtr = std::shared_ptr<EVP_PKEY>;

/// Decodes one PEM key of OpenSSL type `type` ("RSA", "EC", "ED25519").
/// `public_key` selects the public forms: SPKI ("BEGIN PUBLIC KEY") or the
/// type-specific one (`specific_label`: "RSA PUBLIC KEY") when not null;
/// otherwise the unencrypted private forms: PKCS#8 ("BEGIN PRIVATE KEY") or
/// the type-specific one ("RSA PRIVATE KEY", "EC PRIVATE KEY"). Exactly one
/// of the two blocks must be present. Throws SetupError(key_invalid) naming
/// `what` ("an RSA public key").
[[nodiscard]] inline PkeyPtr decode_pem(std::string_view pem, const char* type, bool public_key,
                                        const char* specific_label, const char* what) {
    const std::string generic = public_key ? "PUBLIC KEY" : "PRIVATE KEY";
    auto has_block = [&](const std::string& label) {
        return pem.find("-----BEGIN " + label + "-----") != std::string_view::npos;
    };
    const bool has_generic = has_block(generic);
    const bool has_specific = specific_label != nullptr && has_block(specific_label);
    if (has_generic == has_specific)
        throw SetupError(
            Error::key_invalid,
            "expected one PEM block BEGIN " + generic +
                (specific_label ? std::string(" or BEGIN ") + specific_label : std::string()) +
                " (" + what + ")");
    const char* structure =
        has_generic ? (public_key ? "SubjectPublicKeyInfo" : "PrivateKeyInfo") : "type-specific";
    EVP_PKEY* raw = nullptr;
    const std::unique_ptr<OSSL_DECODER_CTX, DecoderFree> decoder(OSSL_DECODER_CTX_new_for_pkey(
        &raw, "PEM", structure, type, public_key ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR, nullptr,
        nullptr));
    const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
    std::size_t size = pem.size();
    if (!decoder || OSSL_DECODER_from_data(decoder.get(), &data, &size) != 1 || raw == nullptr)
        throw SetupError(Error::key_invalid, std::string("the PEM text is not ") + what);
    PkeyPtr pkey(raw, PkeyFree());
    if (!EVP_PKEY_is_a(pkey.get(), type))
        throw SetupError(Error::key_invalid, std::string("the key is not ") + what);
    return pkey;
}

/// A BIGNUM parameter of `pkey` (OSSL_PKEY_PARAM_RSA_N, ..._EC_PUB_X, ...).
[[nodiscard]] inline BnPtr bn_param(const EVP_PKEY* pkey, const char* name) {
    BIGNUM* value = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, name, &value) != 1)
        throw SetupError(Error::key_invalid, std::string("the key has no ") + name);
    return BnPtr(value);
}

/// How EVP signs for one JWS algorithm.
struct EvpSignature {
    const EVP_MD* md = nullptr;  ///< null: the key's own (Ed25519)
    bool pss = false;            ///< RSASSA-PSS, MGF1 of `md`, salt of its size
};

/// `input` signed with `pkey` as `how` says; what EVP returns (DER for
/// ECDSA). Throws SetupError(key_invalid) when OpenSSL cannot sign.
[[nodiscard]] inline std::string evp_sign(EVP_PKEY* pkey, EvpSignature how,
                                          std::string_view input) {
    const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                      &EVP_MD_CTX_free);
    const auto* message = reinterpret_cast<const unsigned char*>(input.data());
    EVP_PKEY_CTX* pctx = nullptr;
    std::size_t size = 0;
    std::string signature;
    if (ctx && EVP_DigestSignInit(ctx.get(), &pctx, how.md, nullptr, pkey) == 1 &&
        (!how.pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
                      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, how.md) == 1)) &&
        EVP_DigestSign(ctx.get(), nullptr, &size, message, input.size()) == 1) {
        signature.resize(size);
        if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                           message, input.size()) == 1) {
            signature.resize(size);
            return signature;
        }
    }
    throw SetupError(Error::key_invalid, "OpenSSL could not sign with the key");
}

}  // namespace jwtguard::detail
