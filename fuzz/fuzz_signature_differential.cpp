// Every algorithm's key.verify against OpenSSL's EVP (EVP_DigestVerify, or
// HMAC) on the same key, message and signature: the verdicts must agree.
//
// Input: byte 0 picks the algorithm (of the 13), byte 1 the mode, bytes 2-3
// the message's length, then the message and the material the mode uses:
//   0  raw signature bytes;
//   1  a valid signature with bytes xored at chosen positions;
//   2  RS*: the private-key operation applied to a valid EMSA-PKCS1-v1_5
//      encoding with chosen bytes overwritten (padding forgeries: the
//      Bleichenbacher-style ones live here); PS*: the private-key operation
//      on chosen bytes, so that EMSA-PSS-VERIFY parses an encoding the
//      fuzzer picked; ES*: r || s with r or s set to a chosen small value,
//      zero, n or n - 1; others: as mode 1;
//   3  RS*/PS*: a valid signature plus the modulus (s + n: refused);
//      ES*: the twin (r, n - s) of a valid signature (accepted, and named
//      like the original by the denylist); others: as mode 1.
// ECDSA signatures with u1*G == u2*Q (Wycheproof "PointDuplication") need
// the private key's holder, so the fuzzer cannot make one; tests/ecdsa_test
// crafts them. Every refused ES* signature here does run that decision
// (detail::verify_point_duplication), against OpenSSL's verdict.
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "jwtguard/ecdsa.hpp"
#include "jwtguard/keyset.hpp"
#include "jwtguard/sign.hpp"

namespace {

constexpr std::array<std::string_view, 13> algorithms = {
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
    "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};

const EVP_MD* md_of(std::string_view alg) {
    if (alg == "EdDSA") return nullptr;
    return alg.ends_with("256") ? EVP_sha256() : alg.ends_with("384") ? EVP_sha384() : EVP_sha512();
}

/// One algorithm's keys: jwtguard's (verify, sign) and OpenSSL's (oracle).
struct Family {
    std::string_view alg;
    std::string secret;        // HS*
    EVP_PKEY* pkey = nullptr;  // the others
    std::unique_ptr<jwtguard::Key> key;
    std::unique_ptr<jwtguard::AnySigningKey> signer;
    BIGNUM* n = nullptr;  // RSA modulus or curve order

    explicit Family(std::string_view name) : alg(name) {
        std::string_view pem;
        if (alg.starts_with("HS")) {
            secret.assign(64, 'f');
        } else if (alg.starts_with("RS") || alg.starts_with("PS")) {
            pem = fuzz::rs256_private_pem;
        } else if (alg == "ES256") {
            pem = fuzz::es256_private_pem;
        } else if (alg == "ES384") {
            pem = fuzz::es384_private_pem;
        } else if (alg == "ES512") {
            pem = fuzz::es512_private_pem;
        } else {
            pem = fuzz::ed25519_private_pem;
        }
        signer = std::make_unique<jwtguard::AnySigningKey>(
            jwtguard::make_signing_key(alg, pem.empty() ? std::string_view(secret) : pem));
        if (pem.empty()) {
            key = std::make_unique<jwtguard::Key>(jwtguard::load_secret_key(secret, alg));
            return;
        }
        pkey = fuzz::openssl_private_key(pem);
        key = std::make_unique<jwtguard::Key>(std::visit(
            [](const auto& k) -> jwtguard::Key {
                if constexpr (requires { k.public_key(); })
                    return k.public_key();
                else
                    return k;  // (HMAC: not reached)
            },
            *signer));
        if (alg.starts_with("RS") || alg.starts_with("PS")) {
            FUZZ_CHECK(EVP_PKEY_get_bn_param(pkey, "n", &n) == 1);
        } else if (alg.starts_with("ES")) {
            const unsigned char* order = alg == "ES256"   ? jwtguard::detail::P256::order
                                         : alg == "ES384" ? jwtguard::detail::P384::order
                                                          : jwtguard::detail::P521::order;
            n = BN_bin2bn(order, static_cast<int>(half()), nullptr);
        }
    }
    ~Family() {
        EVP_PKEY_free(pkey);
        BN_free(n);
    }
    Family(const Family&) = delete;
    Family& operator=(const Family&) = delete;

    [[nodiscard]] std::size_t half() const {
        return alg == "ES256" ? 32 : alg == "ES384" ? 48 : 66;
    }
    [[nodiscard]] std::string sign(std::string_view message) const {
        return std::visit([&](const auto& k) { return k.sign(message); }, *signer);
    }
    [[nodiscard]] bool ours(std::string_view message, const std::vector<unsigned char>& sig) const {
        return std::visit([&](const auto& k) { return k.verify(message, sig.data(), sig.size()); },
                          *key);
    }
    [[nodiscard]] bool theirs(std::string_view message, std::vector<unsigned char> sig) const {
        const auto* m = reinterpret_cast<const unsigned char*>(message.data());
        if (alg.starts_with("HS")) {
            unsigned char mac[EVP_MAX_MD_SIZE];
            unsigned size = 0;
            HMAC(md_of(alg), secret.data(), static_cast<int>(secret.size()), m, message.size(), mac,
                 &size);
            return sig.size() == size && std::memcmp(mac, sig.data(), size) == 0;
        }
        if (alg.starts_with("ES")) {
            // OpenSSL takes DER: only an r || s of the curve's size has one.
            if (sig.size() != 2 * half()) return false;
            ECDSA_SIG* s = ECDSA_SIG_new();
            ECDSA_SIG_set0(s, BN_bin2bn(sig.data(), static_cast<int>(half()), nullptr),
                           BN_bin2bn(sig.data() + half(), static_cast<int>(half()), nullptr));
            unsigned char* der = nullptr;
            const int size = i2d_ECDSA_SIG(s, &der);
            ECDSA_SIG_free(s);
            FUZZ_CHECK(size > 0);
            sig.assign(der, der + size);
            OPENSSL_free(der);
        }
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        EVP_PKEY_CTX* pctx = nullptr;
        const bool ok = EVP_DigestVerifyInit(ctx, &pctx, md_of(alg), nullptr, pkey) == 1 &&
                        (!alg.starts_with("PS") ||
                         (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
                        EVP_DigestVerify(ctx, sig.data(), sig.size(), m, message.size()) == 1;
        EVP_MD_CTX_free(ctx);
        return ok;
    }
};

Family& family(std::size_t i) {
    static std::array<std::unique_ptr<Family>, algorithms.size()> all;
    if (!all[i]) all[i] = std::make_unique<Family>(algorithms[i]);
    return *all[i];
}

std::vector<unsigned char> bytes_of(const std::string& s) {
    return {s.begin(), s.end()};
}

/// The raw private-key operation m^d mod n; empty if m >= n.
std::vector<unsigned char> raw_private(EVP_PKEY* key, const std::vector<unsigned char>& m) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
    std::vector<unsigned char> s(m.size());
    std::size_t size = s.size();
    const bool ok = EVP_PKEY_sign_init(ctx) == 1 &&
                    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
                    EVP_PKEY_sign(ctx, s.data(), &size, m.data(), m.size()) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return {};
    s.resize(size);
    return s;
}

/// EMSA-PKCS1-v1_5 of the message for `alg`, `size` bytes.
std::vector<unsigned char> pkcs1_encoding(std::string_view alg, std::string_view message,
                                          std::size_t size) {
    // The DigestInfo prefixes of RFC 8017 9.2 note 1, written out here
    // independently of jwtguard's.
    static constexpr unsigned char sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                               0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                               0x01, 0x05, 0x00, 0x04, 0x20};
    static constexpr unsigned char sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                               0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                               0x02, 0x05, 0x00, 0x04, 0x30};
    static constexpr unsigned char sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                               0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                               0x03, 0x05, 0x00, 0x04, 0x40};
    const unsigned char* info = alg == "RS256" ? sha256 : alg == "RS384" ? sha384 : sha512;
    const EVP_MD* md = md_of(alg);
    const auto hash_size = static_cast<std::size_t>(EVP_MD_get_size(md));
    std::vector<unsigned char> em(size, 0xff);
    em[0] = 0x00;
    em[1] = 0x01;
    const std::size_t t = sizeof sha256 + hash_size;
    em[size - t - 1] = 0x00;
    std::memcpy(em.data() + size - t, info, sizeof sha256);
    unsigned size_out = 0;
    EVP_Digest(message.data(), message.size(), em.data() + size - hash_size, &size_out, md,
               nullptr);
    return em;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    const Family& f = family(data[0] % algorithms.size());
    const unsigned mode = data[1] % 4;
    const std::size_t split = std::min<std::size_t>(data[2] | std::size_t{data[3]} << 8, size - 4);
    const std::string_view message(reinterpret_cast<const char*>(data) + 4, split);
    const std::uint8_t* rest = data + 4 + split;
    const std::size_t rest_size = size - 4 - split;
    const bool rsa = f.alg.starts_with("RS") || f.alg.starts_with("PS");
    const bool ecdsa = f.alg.starts_with("ES");

    std::vector<unsigned char> signature;
    bool must_refuse = false, must_accept = false;
    if (mode == 0) {
        signature.assign(rest, rest + rest_size);
    } else if (mode == 2 && rsa) {
        const std::size_t k = static_cast<std::size_t>(BN_num_bytes(f.n));
        std::vector<unsigned char> em;
        if (f.alg.starts_with("RS")) {
            em = pkcs1_encoding(f.alg, message, k);
            for (std::size_t i = 0; i + 2 < rest_size; i += 3)
                em[(rest[i] | std::size_t{rest[i + 1]} << 8) % em.size()] = rest[i + 2];
        } else {
            em.assign(k, 0);
            for (std::size_t i = 0; i < rest_size && i < k; ++i)
                em[k - 1 - i] = rest[rest_size - 1 - i];
            em[0] = 0;  // below n
        }
        signature = raw_private(f.pkey, em);
        if (signature.empty()) signature.assign(rest, rest + rest_size);  // em >= n
    } else if (mode == 2 && ecdsa) {
        signature = bytes_of(f.sign(message));
        if (rest_size > 0) {
            const std::size_t h = f.half();
            unsigned char* target = signature.data() + (rest[0] & 1 ? h : 0);
            BIGNUM* v = BN_new();
            switch ((rest[0] >> 1) % 4) {
                case 0:
                    BN_set_word(v, rest_size > 1 ? rest[1] : 0);
                    break;
                case 1:
                    BN_copy(v, f.n);
                    break;
                case 2:
                    BN_copy(v, f.n);
                    BN_sub_word(v, 1);
                    break;
                default:
                    BN_copy(v, f.n);
                    BN_add_word(v, rest_size > 1 ? rest[1] : 1);
            }
            if (BN_num_bytes(v) <= static_cast<int>(h))
                BN_bn2binpad(v, target, static_cast<int>(h));
            BN_free(v);
        }
    } else if (mode == 3 && rsa) {
        const std::string valid = f.sign(message);
        BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(valid.data()),
                              static_cast<int>(valid.size()), nullptr);
        FUZZ_CHECK(s != nullptr && BN_add(s, s, f.n) == 1);
        const int length = std::max(BN_num_bytes(s), static_cast<int>(valid.size()));
        signature.resize(static_cast<std::size_t>(length));
        FUZZ_CHECK(BN_bn2binpad(s, signature.data(), length) == length);
        BN_free(s);
        must_refuse = true;
    } else if (mode == 3 && ecdsa) {
        const std::vector<unsigned char> valid = bytes_of(f.sign(message));
        signature = valid;
        const std::size_t h = f.half();
        BIGNUM* s = BN_bin2bn(signature.data() + h, static_cast<int>(h), nullptr);
        FUZZ_CHECK(BN_sub(s, f.n, s) == 1);
        FUZZ_CHECK(BN_bn2binpad(s, signature.data() + h, static_cast<int>(h)) ==
                   static_cast<int>(h));
        BN_free(s);
        must_accept = true;
        // The denylist names the twin like the original.
        unsigned char buffer_a[2 * 66], buffer_b[2 * 66];
        const auto name_a = jwtguard::detail::signature_name(f.alg, signature, buffer_a);
        const auto name_b = jwtguard::detail::signature_name(f.alg, valid, buffer_b);
        FUZZ_CHECK(name_a.size() == name_b.size() &&
                   std::memcmp(name_a.data(), name_b.data(), name_a.size()) == 0);
    } else {
        signature = bytes_of(f.sign(message));
        for (std::size_t i = 0; i + 1 < rest_size; i += 2)
            signature[rest[i] % signature.size()] ^= rest[i + 1];
    }

    const bool ours = f.ours(message, signature);
    FUZZ_CHECK(ours == f.theirs(message, signature));
    if (must_refuse) FUZZ_CHECK(!ours);
    if (must_accept) FUZZ_CHECK(ours);
    return 0;
}
