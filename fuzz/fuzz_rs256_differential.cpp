// Rs256Key::verify against OpenSSL's EVP_DigestVerify (RSASSA-PKCS1-v1_5,
// SHA-256) on the same key, message and signature: the verdicts must agree.
// The first byte picks how the signature is made from the rest of the input:
//   0  raw bytes;
//   1  a valid signature with bytes xored at chosen positions;
//   2  the private-key operation applied to a valid encoded message with
//      chosen bytes overwritten, so that verification sees a padding the
//      fuzzer picked (the Bleichenbacher-style forgeries live here);
//   3  a valid signature plus the modulus (s + n, which must be refused).
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "../tests/test_keys.hpp"
#include "fuzz_support.hpp"
#include "jwtguard/rsa.hpp"

namespace {

struct Fixture {
    jwtguard::Rs256PrivateKey private_key =
        jwtguard::Rs256PrivateKey::from_pem(fuzz::rs256_private_pem);
    jwtguard::Rs256Key key = private_key.public_key();
    EVP_PKEY* openssl_key = fuzz::openssl_rs256_key();
    BIGNUM* n = nullptr;

    Fixture() { FUZZ_CHECK(EVP_PKEY_get_bn_param(openssl_key, "n", &n) == 1); }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

/// EMSA-PKCS1-v1_5 (RFC 8017 section 9.2) of SHA-256(message), `size` bytes.
std::vector<unsigned char> encoded_message(std::string_view message, std::size_t size) {
    static constexpr unsigned char digest_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                    0x01, 0x05, 0x00, 0x04, 0x20};
    std::vector<unsigned char> em(size, 0xff);
    em[0] = 0x00;
    em[1] = 0x01;
    const std::size_t t = sizeof digest_info + SHA256_DIGEST_LENGTH;
    em[size - t - 1] = 0x00;
    std::memcpy(em.data() + size - t, digest_info, sizeof digest_info);
    SHA256(reinterpret_cast<const unsigned char*>(message.data()), message.size(),
           em.data() + size - SHA256_DIGEST_LENGTH);
    return em;
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

std::vector<unsigned char> bytes_of(const std::string& s) {
    return {s.begin(), s.end()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    Fixture& f = fixture();
    const unsigned mode = data[0] % 4;
    const std::size_t split = std::min<std::size_t>(data[1] | std::size_t{data[2]} << 8, size - 3);
    const std::string_view message(reinterpret_cast<const char*>(data) + 3, split);
    const std::uint8_t* rest = data + 3 + split;
    const std::size_t rest_size = size - 3 - split;
    const std::size_t modulus_size = f.key.signature_size();

    std::vector<unsigned char> signature;
    switch (mode) {
        case 0:
            signature.assign(rest, rest + rest_size);
            break;
        case 1:
            signature = bytes_of(f.private_key.sign(message));
            for (std::size_t i = 0; i + 1 < rest_size; i += 2)
                signature[rest[i] % signature.size()] ^= rest[i + 1];
            break;
        case 2: {
            std::vector<unsigned char> em = encoded_message(message, modulus_size);
            for (std::size_t i = 0; i + 2 < rest_size; i += 3)
                em[(rest[i] | std::size_t{rest[i + 1]} << 8) % em.size()] = rest[i + 2];
            signature = raw_private(f.openssl_key, em);
            if (signature.empty()) signature.assign(rest, rest + rest_size);  // em >= n
            break;
        }
        default: {
            const std::string valid = f.private_key.sign(message);
            BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(valid.data()),
                                  static_cast<int>(valid.size()), nullptr);
            FUZZ_CHECK(s != nullptr && BN_add(s, s, f.n) == 1);
            const int length = std::max(BN_num_bytes(s), static_cast<int>(modulus_size));
            signature.resize(static_cast<std::size_t>(length));
            FUZZ_CHECK(BN_bn2binpad(s, signature.data(), length) == length);
            BN_free(s);
            break;
        }
    }

    const bool ours = f.key.verify(message, signature.data(), signature.size());
    const bool theirs = jwtguard::test::openssl_verify(
        f.openssl_key, message,
        std::string_view(reinterpret_cast<const char*>(signature.data()), signature.size()));
    FUZZ_CHECK(ours == theirs);
    if (mode == 3) FUZZ_CHECK(!ours);
    return 0;
}
