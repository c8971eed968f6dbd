// Writes the seed corpora under fuzz/corpus/<target>/seed-*: realistic
// tokens of both algorithms (signed with the fuzz-only keys in
// fuzz_support.hpp, valid at fuzz::now), JSON edge cases, JWKS documents,
// denylist operation strings and real journal and snapshot files. Output is
// deterministic; rerun after changing a target's input format:
//   build/release/fuzz/fuzz_make_corpus fuzz/corpus
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "jwtguard/jwtguard.hpp"

namespace {

std::filesystem::path root;

void write(const std::string& target, const std::string& name, const std::string& bytes) {
    const auto dir = root / target;
    std::filesystem::create_directories(dir);
    std::ofstream out(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string with_byte(unsigned char b, const std::string& rest) {
    return std::string(1, static_cast<char>(b)) + rest;
}

std::string date(std::int64_t offset) {
    return std::to_string(fuzz::now + offset);
}

// About 300 bytes of payload, like the benchmarks' tokens.
std::string payload(const std::string& extra = "") {
    return R"({"iss":"https://id.example.com","sub":"user-42","aud":["api","admin"],"exp":)" +
           date(3600) + R"(,"nbf":)" + date(-60) + R"(,"iat":)" + date(-60) +
           R"(,"jti":"4f1c2a9e-8b7d-4c3e-9a1f-2b6d8e0c7a55","email":"ada@example.com",)" +
           R"("roles":["reader","writer"])" + extra + "}";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    const jwtguard::Hs256Key hs(fuzz::hs256_secret);
    const auto rs = jwtguard::Rs256PrivateKey::from_pem(fuzz::rs256_private_pem);

    // base64url: every length class, canonical and not, every bad kind.
    for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
             {"empty", ""},
             {"two", "QQ"},
             {"three", "QUI"},
             {"four", "QUJD"},
             {"noncanonical2", "QR"},
             {"noncanonical3", "QUJ"},
             {"padded", "QQ=="},
             {"alphabet", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"},
             {"plus-slash", "ab+/"},
             {"length-4n+1", "QUJDR"},
             {"space", "QU JD"},
             {"high-byte", "QU\xc3\xa9"}})
        write("base64url", name, text);

    // Headers and payloads: realistic ones and each rule's edge.
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"hs256", R"({"alg":"HS256","typ":"JWT","kid":"hs"})"},
        {"rs256", R"({"alg":"RS256","typ":"JWT","kid":"rs"})"},
        {"crit", R"({"alg":"HS256","crit":["exp"]})"},
        {"alg-number", R"({"alg":256})"},
        {"duplicate", R"({"alg":"HS256","alg":"none"})"},
        {"escapes", R"({"alg":"HS\u0032\u00356","kid":"\ud83d\ude00\u0000"})"},
        {"lone-low", R"({"kid":"\udc00"})"},
        {"lone-high", R"({"kid":"\ud800x"})"},
        {"deep", std::string(R"({"x":)") + std::string(40, '[') + std::string(40, ']') + "}"},
        {"not-object", R"(["alg","HS256"])"},
        {"trailing", R"({"alg":"HS256"} x)"},
        {"utf8", "{\"kid\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"},
    };
    for (const auto& [name, json] : headers)
        write("header", name, json);
    const std::vector<std::pair<std::string, std::string>> payloads = {
        {"realistic", payload()},
        {"dates", R"({"exp":1.5,"nbf":1e3,"iat":0.0000001e7})"},
        {"date-max", R"({"exp":9007199254740992,"iat":9007199254740991.5})"},
        {"date-over", R"({"exp":9007199254740993})"},
        {"date-negative", R"({"exp":-1,"nbf":-0.0})"},
        {"date-exponent", R"({"exp":12345678901234567890e-10,"iat":1E+2})"},
        {"aud-string", R"({"aud":"api"})"},
        {"aud-empty", R"({"aud":[]})"},
        {"aud-mixed", R"({"aud":["a",1,"b"]})"},
        {"aud-17",
         R"({"aud":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]})"},
        {"types", R"({"iss":1,"sub":null,"jti":{},"exp":"1"})"},
    };
    for (const auto& [name, json] : payloads)
        write("claims", name, json);

    // Whole tokens; the first byte tells fuzz_validate whether to re-sign.
    const std::string valid_payload = payload();
    write("validate", "hs256", with_byte(0, jwtguard::sign(hs, valid_payload, {.kid = "hs"})));
    write("validate", "rs256", with_byte(0, jwtguard::sign(rs, valid_payload, {.kid = "rs"})));
    write("validate", "hs256-no-kid", with_byte(0, jwtguard::sign(hs, valid_payload)));
    auto resign = [&](const std::string& name, const std::string& header, const std::string& body,
                      unsigned char mode = 1) {
        write("validate", name,
              with_byte(mode, jwtguard::base64url_encode(header) + "." +
                                  jwtguard::base64url_encode(body) + ".x"));
    };
    resign("resign-hs", R"({"alg":"HS256","kid":"hs"})", valid_payload);
    resign("resign-rs", R"({"alg":"RS256","kid":"rs"})", valid_payload, 2);
    resign("expired", R"({"alg":"HS256","kid":"hs"})", R"({"exp":)" + date(-1) + "}");
    resign("revoked-jti", R"({"alg":"HS256","kid":"hs"})",
           R"({"jti":"revoked","exp":)" + date(3600) + "}");
    // The denylist's prefetch hint misled: a revoked jti where the scan
    // looks first, and the real jti hidden from it.
    resign("hint-nested", R"({"alg":"HS256","kid":"hs"})",
           R"({"aud":"api","x":{"jti":"revoked"},"jti":"fine","exp":)" + date(3600) + "}");
    resign(
        "hint-escaped", R"({"alg":"HS256","kid":"hs"})",
        R"({"aud":"api","note":"\"jti\":\"fine\"","jti":"rev\u006fked","exp":)" + date(3600) + "}");
    // The thread's hint layout (denylist.hpp, HintLayout): a token whose
    // own "jti": and "exp": end at 12 and 28, then tokens with nested
    // members there, the real ones elsewhere.
    resign("hint-layout", R"({"alg":"HS256","kid":"hs"})",
           R"({"":1,"jti":"abcdefg","exp":)" + date(3600) + "}");
    resign("hint-layout-nested-revoked", R"({"alg":"HS256","kid":"hs"})",
           R"({"x":{"jti":"revoked","exp":)" + date(3600) + R"(},"jti":"fine","exp":)" +
               date(3600) + "}");
    resign("hint-layout-nested-fine", R"({"alg":"HS256","kid":"hs"})",
           R"({"x":{"jti":"fine-id","exp":)" + date(3600) + R"(},"jti":"revoked","exp":)" +
               date(3600) + "}");
    resign("logged-out", R"({"alg":"HS256","kid":"hs"})",
           R"({"sub":"logged-out","iat":)" + date(0) + R"(,"exp":)" + date(60) + "}");
    resign("not-yet", R"({"alg":"HS256","kid":"hs"})",
           R"({"nbf":)" + date(100) + R"(,"exp":)" + date(600) + "}");
    resign("alg-confusion", R"({"alg":"HS256","kid":"rs"})", valid_payload);
    resign("alg-none", R"({"alg":"none"})", valid_payload, 0);
    resign("nested", R"({"alg":"HS256","kid":"hs","cty":"JWT"})", valid_payload);

    // Signature differential: algorithm byte, mode byte, two length bytes,
    // message, material; every algorithm in every mode.
    const std::string message = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0";
    for (unsigned char alg = 0; alg < 13; ++alg) {
        for (unsigned char mode = 0; mode < 4; ++mode) {
            std::string input{static_cast<char>(alg), static_cast<char>(mode),
                              static_cast<char>(message.size()), '\0'};
            input += message;
            input += mode == 0 ? std::string(64, '\x5a') : std::string("\x01\x80\x02\x00\x00", 5);
            write("signature_differential",
                  "alg" + std::to_string(alg) + "-mode" + std::to_string(mode), input);
        }
    }

    // JWKS documents; the first byte picks the default algorithm.
    std::string n, e;
    {
        // The public key's components, as a JWK carries them.
        BIGNUM* bn_n = nullptr;
        BIGNUM* bn_e = nullptr;
        EVP_PKEY* key = fuzz::openssl_rs256_key();
        EVP_PKEY_get_bn_param(key, "n", &bn_n);
        EVP_PKEY_get_bn_param(key, "e", &bn_e);
        auto bytes = [](const BIGNUM* b) {
            std::string s(static_cast<std::size_t>(BN_num_bytes(b)), '\0');
            BN_bn2bin(b, reinterpret_cast<unsigned char*>(s.data()));
            return jwtguard::base64url_encode(s);
        };
        n = bytes(bn_n);
        e = bytes(bn_e);
        BN_free(bn_n);
        BN_free(bn_e);
    }
    const std::string rsa_jwk = R"({"kty":"RSA","kid":"rs","use":"sig","alg":"RS256","n":")" + n +
                                R"(","e":")" + e + R"("})";
    const std::string oct_jwk = R"({"kty":"oct","kid":"hs","alg":"HS256","k":")" +
                                jwtguard::base64url_encode(fuzz::hs256_secret) + R"("})";
    write("jwks", "both", with_byte(0, R"({"keys":[)" + rsa_jwk + "," + oct_jwk + "]}"));
    write("jwks", "default-alg",
          with_byte(2, R"({"keys":[{"kty":"RSA","n":")" + n + R"(","e":")" + e + R"("}]})"));
    write("jwks", "refused",
          with_byte(1, R"({"keys":[{"kty":"oct","k":"c2hvcnQ"},{"kty":"EC","crv":"P-256"},)"
                       R"({"kty":"RSA","alg":"RS256","n":"AQAB","e":"AQAB","d":"AQAB"},)"
                       R"({"kty":"oct","use":"enc","k":"x"},{"kid":7},"x",)" +
                           oct_jwk + "," + oct_jwk + "]}"));
    write("jwks", "key-ops",
          with_byte(0, R"({"keys":[{"kty":"oct","alg":"HS256","key_ops":["sign","verify"],"k":")" +
                           jwtguard::base64url_encode(fuzz::hs256_secret) + R"("}]})"));

    // Denylist operation strings: 4 option bytes, then 4-byte operations.
    std::mt19937 rng(7);
    for (int k = 0; k < 8; ++k) {
        std::string ops;
        for (int i = 0; i < 4 + 4 * 64; ++i)
            ops += static_cast<char>(rng());
        write("denylist", "random" + std::to_string(k), ops);
    }

    // Journal and snapshot files written by a real Denylist; the first byte
    // says which (bit 0) at fuzz::now (bits 3-4 = 2), the second the width.
    char dir_template[] = "/tmp/jwtguard-corpus-XXXXXX";
    const std::string dir = mkdtemp(dir_template);
    jwtguard::DenylistOptions o;
    o.bucket_width = 60;
    o.horizon = 3600;
    o.journal_path = dir + "/journal";
    auto read = [](const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    {
        jwtguard::Denylist d(o, fuzz::now);
        d.revoke_jti("a", fuzz::now + 100);
        d.revoke_jti("b", fuzz::now + 7200);  // beyond the horizon
        d.revoke_jti("c", std::nullopt);      // no exp
        d.revoke_subject("user-42", fuzz::now);
        const unsigned char at_now = 2 << 3;
        write("journal", "journal", with_byte(at_now, with_byte(59, read(o.journal_path))));
        d.compact();
        write("journal", "snapshot",
              with_byte(at_now | 1, with_byte(59, read(o.journal_path + ".snapshot"))));
        d.revoke_jti("d", fuzz::now + 30);
        std::string torn = read(o.journal_path);
        torn.resize(torn.size() - 5);
        write("journal", "torn", with_byte(at_now, with_byte(59, torn)));
    }
    std::filesystem::remove_all(dir);

    // What the Redis mirror reads: revocation texts (redis.hpp) and stream
    // ids, well-formed and each kind of near miss.
    const std::string fp = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
             {"token", "token " + date(600) + " " + date(600) + " " + fp},
             {"token-range", "token " + date(0) + " " + date(59) + " " + fp},
             {"token-no-exp", "token none none " + fp},
             {"subject", "subject " + date(0) + " " + fp},
             {"zero-hi", "token 1 1 0f1e2d3c4b5a69780000000000000000"},
             {"leading-zero", "token 01 1 " + fp},
             {"beyond-2-53", "token 9007199254740993 9007199254740993 " + fp},
             {"uppercase", "token 1 1 0F1E2D3C4B5A69788796A5B4C3D2E1F0"},
             {"stream-id", "1700000000000-0"},
             {"stream-id-big", "18446744073709551615-18446744073709551615"}})
        write("redis", name, text);
    std::printf("seeds written under %s\n", root.c_str());
    return 0;
}
