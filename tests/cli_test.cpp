// The CLI contract of DESIGN.md, run against the built `jwtguard` binary.
#include <gtest/gtest.h>
#include <jwtguard/keyset.hpp>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "test_keys.hpp"
#include "test_tokens.hpp"

namespace {

namespace fs = std::filesystem;

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

class Cli : public ::testing::Test {
  protected:
    fs::path dir;

    void SetUp() override {
        dir = fs::temp_directory_path() /
              ("jwtguard_cli_test_" + std::to_string(::getpid()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir);
        write("secret", "0123456789abcdef0123456789abcdef:cli");
        write("short", "0123456789");
    }
    void TearDown() override { fs::remove_all(dir); }

    std::string path(const std::string& name) const { return (dir / name).string(); }
    void write(const std::string& name, const std::string& text) const {
        std::ofstream(path(name), std::ios::binary) << text;
    }
    static std::string read(const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    static std::string quote(const std::string& s) {
        std::string q = "'";
        for (char c : s)
            q += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return q + "'";
    }

    /// Runs the CLI with `args` (shell-quoted one by one) and `input` on stdin.
    Outcome run(const std::vector<std::string>& args, const std::string& input = "") const {
        write("stdin", input);
        std::string command = quote(JWTGUARD_CLI);
        for (const auto& a : args)
            command.append(" ").append(quote(a));
        command.append(" <").append(quote(path("stdin")));
        command.append(" >").append(quote(path("stdout")));
        command.append(" 2>").append(quote(path("stderr")));
        const int status = std::system(command.c_str());
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(path("stdout")),
                read(path("stderr"))};
    }

    std::string sign(const std::string& claims, std::vector<std::string> extra = {}) const {
        std::vector<std::string> args = {"sign",         "--alg",    "HS256", "--secret-file",
                                         path("secret"), "--claims", claims};
        args.insert(args.end(), extra.begin(), extra.end());
        const Outcome r = run(args);
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out.back(), '\n');
        return r.out.substr(0, r.out.size() - 1);
    }

    Outcome verify(const std::string& token, std::vector<std::string> extra = {}) const {
        std::vector<std::string> args = {"verify", "--secret-file", path("secret"), "--now",
                                         "1700000000"};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(token);
        return run(args);
    }
};

constexpr const char* claims = R"({"sub":"alice", "exp":1700000600, "roles":["a"]})";

TEST_F(Cli, SignThenVerifyRoundTrips) {
    const std::string token = sign(claims, {"--kid", "k1"});
    const Outcome r = verify(token);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "{\"sub\":\"alice\",\"exp\":1700000600,\"roles\":[\"a\"]}\n");
    EXPECT_EQ(r.err, "");
}

TEST_F(Cli, InvalidTokenExitsOneWithTheCode) {
    const std::string token = sign(claims);
    const Outcome expired = verify(token, {"--now", "1700000600"});
    EXPECT_EQ(expired.code, 1);
    EXPECT_EQ(expired.out, "");
    EXPECT_EQ(expired.err, "error: expired: the token has expired\n");
    std::string tampered = token;
    tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
    const Outcome bad = verify(tampered);
    EXPECT_EQ(bad.code, 1);
    EXPECT_EQ(bad.err.rfind("error: signature_invalid: ", 0), 0u) << bad.err;
    EXPECT_EQ(verify("not-a-token").err.rfind("error: token_malformed: ", 0), 0u);
}

TEST_F(Cli, StdinLosesExactlyOneTrailingNewline) {
    const std::string token = sign(claims);
    const std::vector<std::string> args = {"verify", "--secret-file", path("secret"),
                                           "--now",  "1700000000",    "-"};
    EXPECT_EQ(run(args, token + "\n").code, 0);
    EXPECT_EQ(run(args, token).code, 0);
    EXPECT_EQ(run(args, token + "\n\n").code, 1);
    EXPECT_EQ(run(args, token + "\r\n").code, 1);
    // No token argument reads stdin too.
    EXPECT_EQ(
        run({"verify", "--secret-file", path("secret"), "--now", "1700000000"}, token + "\n").code,
        0);
    // An argument is taken byte for byte.
    EXPECT_EQ(verify(token + "\n").code, 1);
}

TEST_F(Cli, PolicyOptions) {
    const std::string token =
        sign(R"({"iss":"https://i.example","aud":"api","exp":1700000600,"nbf":1700000100})",
             {"--kid", "x"});
    EXPECT_EQ(verify(token, {"--aud", "api"}).err.rfind("error: not_yet_valid:", 0), 0u);
    EXPECT_EQ(verify(token, {"--aud", "api", "--leeway", "100"}).code, 0);
    EXPECT_EQ(
        verify(token, {"--aud", "api", "--now", "1700000200", "--iss", "https://i.example"}).code,
        0);
    EXPECT_EQ(verify(token, {"--aud", "api", "--now", "1700000200", "--iss", "other"})
                  .err.rfind("error: iss_mismatch:", 0),
              0u);
    EXPECT_EQ(verify(token, {"--now", "1700000200"}).err.rfind("error: aud_mismatch:", 0), 0u);
    EXPECT_EQ(verify(token, {"--aud", "api", "--now", "1700000200", "--typ", "at+jwt"})
                  .err.rfind("error: typ_mismatch:", 0),
              0u);
    EXPECT_EQ(
        verify(token, {"--aud", "api", "--now", "1700000200", "--typ", "application/jwt"}).code, 0);
    EXPECT_EQ(verify(token, {"--aud", "api", "--now", "1700000200", "--max-size", "20"})
                  .err.rfind("error: token_too_large:", 0),
              0u);
    EXPECT_EQ(verify(token, {"--aud", "api", "--now", "1700000200", "--alg", "HS256"}).code, 0);
}

TEST_F(Cli, UsageErrorsExitTwo) {
    const std::string token = sign(claims);
    EXPECT_EQ(run({}).code, 2);
    EXPECT_EQ(run({"frobnicate"}).code, 2);
    EXPECT_EQ(run({"verify", token}).code, 2);  // no key
    EXPECT_EQ(verify(token, {"--leeway", "abc"}).code, 2);
    EXPECT_EQ(verify(token, {"--leeway", "-1"}).code, 2);
    EXPECT_EQ(verify(token, {"--now", "12x"}).code, 2);
    EXPECT_EQ(verify(token, {"--max-size", "999999999"}).code, 2);
    EXPECT_EQ(verify(token, {"--bogus"}).code, 2);
    EXPECT_EQ(verify(token, {"--alg", "HS512"}).code, 2);
    EXPECT_EQ(verify(token, {"--alg", "RS256"}).code, 2);
    EXPECT_EQ(run({"verify", "--secret-file", path("secret"), "--key-file", "k.pem", token}).code,
              2);
    EXPECT_EQ(run({"verify", "--secret-file", path("secret"), token, token}).code, 2);
    EXPECT_EQ(run({"sign", "--secret-file", path("secret"), "--claims", "{}"}).code, 2);
    const Outcome usage = run({"verify", "--secret-file", path("secret"), "--leeway"});
    EXPECT_EQ(usage.code, 2);
    EXPECT_EQ(usage.err.rfind("error: usage: --leeway needs a value", 0), 0u) << usage.err;
}

TEST_F(Cli, TimesOutsideNumericDatesAreUsageErrors) {
    // One range for every instant (time.hpp): --now near INT64_MIN once
    // overflowed inside the denylist (UBSan: signed integer overflow).
    const std::string token = sign(R"({"jti":"id-1","exp":1700000600})");
    for (const std::string now :
         {"-9223372036854775808", "-1", "9007199254740993", "9223372036854775807"}) {
        const Outcome r = verify(token, {"--now", now, "--leeway", "5", "--revoked-jti", "x"});
        EXPECT_EQ(r.code, 2) << now;
        EXPECT_NE(r.err.find("--now needs an integer in [0, 9007199254740992]"), std::string::npos)
            << r.err;
    }
    EXPECT_EQ(verify(token, {"--now", "0", "--revoked-jti", "x"}).code, 0);
    EXPECT_EQ(verify(token, {"--now", "9007199254740992"}).code, 1);  // expired, not refused
    const std::string journal = path("j");
    EXPECT_EQ(run({"revoke", "--journal", journal, "--now", "-1", "--jti", "a", "--exp", "1"}).code,
              2);
    EXPECT_EQ(run({"revoke", "--journal", journal, "--sub", "a", "--before", "-1"}).code, 2);
}

TEST_F(Cli, RevokeTakesTheExpAsTheTokenCarriesIt) {
    // A fractional exp is keyed rounded up (as Claims::exp holds it): the
    // token with exp 1700000600.5 is revoked by --exp 1700000600.5 (or by
    // 1700000601), and --exp 1700000600 names another token.
    const std::string journal = path("j");
    const std::string token = sign(R"({"jti":"f","exp":1700000600.5})");
    auto revoke = [&](const std::string& exp) {
        return run(
            {"revoke", "--journal", journal, "--now", "1700000000", "--jti", "f", "--exp", exp});
    };
    Outcome r = revoke("1700000600");
    EXPECT_EQ(r.out, "added\n");
    EXPECT_EQ(verify(token, {"--journal", journal}).code, 0);
    r = revoke("1700000600.5");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "added\n");
    EXPECT_EQ(r.err,
              "note: --exp 1700000600.5 is the exp 1700000601 (whole seconds, rounded up, "
              "as a token's exp is keyed)\n");
    EXPECT_EQ(verify(token, {"--journal", journal}).err,
              "error: revoked: the token has been revoked\n");
    EXPECT_EQ(revoke("1700000601").out, "already_revoked\n");
    EXPECT_EQ(revoke("1.7000006005e9").out, "already_revoked\n");
    for (const std::string bad : {"1e400", "-1", "1,2", "1700000600,\"x\":1", "abc", "",
                                  "9007199254740992.5", "0x10", "01"}) {
        const Outcome e = revoke(bad);
        EXPECT_EQ(e.code, 2) << bad;
        EXPECT_NE(e.err.find("--exp needs the token's exp"), std::string::npos) << e.err;
    }
}

TEST_F(Cli, UnusableKeyExitsTwo) {
    const std::string token = sign(claims);
    const Outcome missing = run({"verify", "--secret-file", path("nope"), token});
    EXPECT_EQ(missing.code, 2);
    EXPECT_NE(missing.err.find("cannot read secret file"), std::string::npos);
    const Outcome short_key = run({"verify", "--secret-file", path("short"), token});
    EXPECT_EQ(short_key.code, 2);
    EXPECT_EQ(short_key.err.rfind("error: key_too_short: ", 0), 0u) << short_key.err;
    EXPECT_EQ(
        run({"sign", "--alg", "HS256", "--secret-file", path("short"), "--claims", "{}"}).code, 2);
}

TEST_F(Cli, SecretFileIsRawBytes) {
    const std::string token = sign(claims);
    write("secret_nl", read(path("secret")) + "\n");
    EXPECT_EQ(
        run({"verify", "--secret-file", path("secret_nl"), "--now", "1700000000", token}).code, 1);
}

TEST_F(Cli, SignRefusesBadClaims) {
    const Outcome dup = run({"sign", "--alg", "HS256", "--secret-file", path("secret"), "--claims",
                             R"({"a":1,"a":2})"});
    EXPECT_EQ(dup.code, 1);
    EXPECT_EQ(dup.err.rfind("error: payload_duplicate_member: ", 0), 0u) << dup.err;
    write("claims.json", "{\"sub\":\"bob\",\"exp\":1700000600}\n");
    const Outcome from_file = run({"sign", "--alg", "HS256", "--secret-file", path("secret"),
                                   "--claims-file", path("claims.json")});
    EXPECT_EQ(from_file.code, 0) << from_file.err;
    EXPECT_EQ(verify(from_file.out.substr(0, from_file.out.size() - 1)).out,
              "{\"sub\":\"bob\",\"exp\":1700000600}\n");
}

TEST_F(Cli, DecodeMarksItsOutputUnverified) {
    const std::string token = sign(claims, {"--kid", "k1"});
    const Outcome r = run({"decode", token});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(
        r.out,
        R"({"UNVERIFIED":"the signature was not checked","header":{"alg":"HS256","typ":"JWT","kid":"k1"},"payload":{"sub":"alice","exp":1700000600,"roles":["a"]}})"
        "\n");
    EXPECT_EQ(run({"decode", "-"}, token + "\n").out, r.out);
    const Outcome bad = run({"decode", "eyJhbGciOiJIUzI1NiJ9.e30=.x"});
    EXPECT_EQ(bad.code, 1);
    EXPECT_EQ(bad.err.rfind("error: payload_base64_invalid: ", 0), 0u) << bad.err;
    EXPECT_EQ(run({"decode", "a.b"}).code, 1);
}

TEST_F(Cli, RevokedJtiOptionRejectsThatJtiOnly) {
    const std::string token = sign(R"({"jti":"id-1","exp":1700000600})");
    EXPECT_EQ(verify(token, {"--revoked-jti", "id-2"}).code, 0);
    const Outcome revoked = verify(token, {"--revoked-jti", "id-2", "--revoked-jti", "id-1"});
    EXPECT_EQ(revoked.code, 1);
    EXPECT_EQ(revoked.err, "error: revoked: the token has been revoked\n");
    // A bad signature stays a bad signature.
    std::string bad = token;
    bad[bad.size() - 2] ^= 1;
    EXPECT_EQ(verify(bad, {"--revoked-jti", "id-1"}).err.rfind("error: signature_invalid", 0), 0u);
}

TEST_F(Cli, RevokeWritesAJournalThatVerifyReads) {
    const std::string journal = path("revoked.journal");
    const std::string a = sign(R"({"jti":"a","exp":1700000600})");
    const std::string b = sign(R"({"sub":"bob","exp":1700000600})");  // no jti
    const std::string c = sign(R"({"sub":"carol","iat":1699999000,"exp":1700000600})");
    const std::string d = sign(R"({"sub":"carol","iat":1699999900,"exp":1700000600})");
    // verify --journal needs an existing journal and never creates one.
    EXPECT_EQ(verify(a, {"--journal", journal}).code, 2);
    EXPECT_FALSE(fs::exists(journal));

    auto revoke = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"revoke", "--journal", journal, "--now", "1700000000"});
        return run(args);
    };
    Outcome r = revoke({"--jti", "a", "--exp", "1700000600"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "added\n");
    EXPECT_EQ(revoke({"--jti", "a", "--exp", "1700000600"}).out, "already_revoked\n");
    EXPECT_EQ(revoke({"--jti", "old", "--exp", "1600000000"}).out, "already_expired\n");
    EXPECT_EQ(revoke({"--token", b}).out, "added\n");
    EXPECT_EQ(
        run({"revoke", "--journal", journal, "--now", "1700000000", "--token", "-"}, d + "\n").out,
        "added\n");  // d has no jti: its signature is what is revoked
    EXPECT_EQ(revoke({"--sub", "carol", "--before", "1699999500"}).out, "added\n");

    EXPECT_EQ(verify(a, {"--journal", journal}).err,
              "error: revoked: the token has been revoked\n");
    EXPECT_EQ(verify(b, {"--journal", journal}).code, 1);
    EXPECT_EQ(verify(d, {"--journal", journal}).code, 1);
    const Outcome subject = verify(c, {"--journal", journal});
    EXPECT_EQ(subject.code, 1);
    EXPECT_EQ(subject.err.rfind("error: subject_revoked: ", 0), 0u) << subject.err;
    EXPECT_EQ(verify(sign(R"({"jti":"z","exp":1700000600})"), {"--journal", journal}).code, 0);
}

TEST_F(Cli, CompactMovesTheJournalIntoTheSnapshot) {
    const std::string journal = path("revoked.journal");
    const std::string a = sign(R"({"jti":"a","exp":1700000600})");
    for (const char* jti : {"a", "b"})
        ASSERT_EQ(run({"revoke", "--journal", journal, "--now", "1700000000", "--jti", jti, "--exp",
                       "1700000600"})
                      .code,
                  0);
    ASSERT_EQ(run({"revoke", "--journal", journal, "--now", "1700000000", "--sub", "carol",
                   "--before", "1699999500"})
                  .code,
              0);
    const Outcome r = run({"compact", "--journal", journal, "--now", "1700000000"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "2 revocations and 1 subject cut-offs in the snapshot\n");
    EXPECT_EQ(fs::file_size(journal), 8u);  // the magic alone
    EXPECT_EQ(fs::file_size(journal + ".snapshot"), 8u + 3 * 48);
    EXPECT_EQ(verify(a, {"--journal", journal}).err,
              "error: revoked: the token has been revoked\n");
    EXPECT_EQ(run({"compact"}).code, 2);
    EXPECT_EQ(run({"compact", "--journal", journal, "--jti", "x"}).code, 2);
}

TEST_F(Cli, RevokeUsageAndBadTokens) {
    const std::string journal = path("j");
    EXPECT_EQ(run({"revoke", "--jti", "a", "--exp", "1"}).code, 2);  // no journal
    EXPECT_EQ(run({"revoke", "--journal", journal, "--jti", "a"}).code, 2);
    EXPECT_EQ(run({"revoke", "--journal", journal, "--sub", "a"}).code, 2);
    EXPECT_EQ(run({"revoke", "--journal", journal, "--jti", "a", "--exp", "1", "--sub", "b",
                   "--before", "1"})
                  .code,
              2);
    EXPECT_EQ(run({"revoke", "--journal", journal, "--jti", "a", "--exp", "-5"}).code, 2);
    const Outcome bad = run({"revoke", "--journal", journal, "--token", "a.b"});
    EXPECT_EQ(bad.code, 1);
    EXPECT_EQ(bad.err.rfind("error: token_malformed: ", 0), 0u) << bad.err;
    write("not-a-journal", "hello");
    EXPECT_EQ(run({"revoke", "--journal", path("not-a-journal"), "--jti", "a", "--exp", "1"}).code,
              2);
    EXPECT_EQ(read(path("not-a-journal")), "hello");
}

TEST_F(Cli, DamagedJournalIsReportedAndStillUsed) {
    const std::string journal = path("j");
    const std::string a = sign(R"({"jti":"a","exp":1700000600})");
    ASSERT_EQ(run({"revoke", "--journal", journal, "--now", "1700000000", "--jti", "a", "--exp",
                   "1700000600"})
                  .code,
              0);
    { std::ofstream(journal, std::ios::binary | std::ios::app) << "torn"; }
    const Outcome r = verify(a, {"--journal", journal});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("warning: journal: 4 byte(s) of an incomplete last record"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("error: revoked"), std::string::npos);
    EXPECT_EQ(fs::file_size(journal), 8u + 48u + 4u);  // verify does not repair
}

TEST_F(Cli, VerifiesRs256WithAPemKeyFile) {
    EVP_PKEY* pkey = jwtguard::test::rsa_key(2048);
    write("public.pem", jwtguard::test::public_pem(pkey, "SubjectPublicKeyInfo"));
    write("pkcs1.pem", jwtguard::test::public_pem(pkey, "type-specific"));
    const std::string token = jwtguard::test::rs256_token(pkey, R"({"alg":"RS256"})",
                                                          R"({"sub":"rsa","exp":1700000600})");
    for (const char* file : {"public.pem", "pkcs1.pem"}) {
        const Outcome ok = run({"verify", "--key-file", path(file), "--now", "1700000000", token});
        EXPECT_EQ(ok.code, 0) << ok.err;
        EXPECT_EQ(ok.out, "{\"sub\":\"rsa\",\"exp\":1700000600}\n");
    }
    EXPECT_EQ(run({"verify", "--alg", "RS256", "--key-file", path("public.pem"), "--now",
                   "1700000000", token})
                  .code,
              0);
    // Another key: the signature does not hold.
    write("other.pem",
          jwtguard::test::public_pem(jwtguard::test::rsa_key(3072), "SubjectPublicKeyInfo"));
    const Outcome other =
        run({"verify", "--key-file", path("other.pem"), "--now", "1700000000", token});
    EXPECT_EQ(other.code, 1);
    EXPECT_EQ(other.err.rfind("error: signature_length: ", 0), 0u) << other.err;
    // --alg may only confirm the key's algorithm; unusable keys exit 2.
    EXPECT_EQ(run({"verify", "--alg", "HS256", "--key-file", path("public.pem"), token}).code, 2);
    write("garbage.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    const Outcome garbage = run({"verify", "--key-file", path("garbage.pem"), token});
    EXPECT_EQ(garbage.code, 2);
    EXPECT_EQ(garbage.err.rfind("error: key_invalid: ", 0), 0u) << garbage.err;
    EVP_PKEY* weak = EVP_RSA_gen(1024);
    write("weak.pem", jwtguard::test::public_pem(weak, "SubjectPublicKeyInfo"));
    EVP_PKEY_free(weak);
    const Outcome short_key = run({"verify", "--key-file", path("weak.pem"), token});
    EXPECT_EQ(short_key.code, 2);
    EXPECT_EQ(short_key.err.rfind("error: key_too_short: ", 0), 0u) << short_key.err;
    // An HS256 token whose secret is the PEM text is refused (the key says RS256).
    const std::string forged = jwtguard::test::make_token(
        R"({"alg":"HS256"})", R"({"exp":1700000600})",
        jwtguard::Hs256Key(jwtguard::test::public_pem(pkey, "SubjectPublicKeyInfo")));
    const Outcome confused =
        run({"verify", "--key-file", path("public.pem"), "--now", "1700000000", forged});
    EXPECT_EQ(confused.code, 1);
    EXPECT_EQ(confused.err.rfind("error: alg_mismatch: ", 0), 0u) << confused.err;
}

TEST_F(Cli, SignsRs256WithAPrivateKeyFile) {
    EVP_PKEY* pkey = jwtguard::test::rsa_key(2048);
    write("private.pem", jwtguard::test::private_pem(pkey));
    write("public.pem", jwtguard::test::public_pem(pkey, "SubjectPublicKeyInfo"));
    const Outcome signed_token =
        run({"sign", "--alg", "RS256", "--key-file", path("private.pem"), "--kid", "r1", "--claims",
             R"({"sub":"s","exp":1700000600})"});
    ASSERT_EQ(signed_token.code, 0) << signed_token.err;
    const std::string token = signed_token.out.substr(0, signed_token.out.size() - 1);
    const Outcome verified =
        run({"verify", "--key-file", path("public.pem"), "--now", "1700000000", token});
    EXPECT_EQ(verified.code, 0) << verified.err;
    EXPECT_EQ(verified.out, "{\"sub\":\"s\",\"exp\":1700000600}\n");
    // OpenSSL agrees with the signature.
    const std::string input = token.substr(0, token.rfind('.'));
    EXPECT_TRUE(jwtguard::test::openssl_verify(
        pkey, input, jwtguard::test::decoded(token.substr(token.rfind('.') + 1))));
    // Usage: the wrong key kind for the algorithm, a public key to sign with.
    EXPECT_EQ(
        run({"sign", "--alg", "RS256", "--secret-file", path("secret"), "--claims", "{}"}).code, 2);
    EXPECT_EQ(
        run({"sign", "--alg", "HS256", "--key-file", path("private.pem"), "--claims", "{}"}).code,
        2);
    const Outcome public_key =
        run({"sign", "--alg", "RS256", "--key-file", path("public.pem"), "--claims", "{}"});
    EXPECT_EQ(public_key.code, 2);
    EXPECT_EQ(public_key.err.rfind("error: key_invalid: ", 0), 0u) << public_key.err;
    // Claims the validator would refuse: exit 1 with the code.
    const Outcome bad = run({"sign", "--alg", "RS256", "--key-file", path("private.pem"),
                             "--claims", R"({"exp":"x"})"});
    EXPECT_EQ(bad.code, 1);
    EXPECT_EQ(bad.err.rfind("error: exp_invalid: ", 0), 0u) << bad.err;
}

TEST_F(Cli, SignsAndVerifiesEveryAlgorithm) {
    namespace t = jwtguard::test;
    write("secret64", std::string(64, 's'));
    struct Case {
        const char* alg;
        EVP_PKEY* pkey;  // null: HMAC
    };
    for (const Case& c : {Case{"HS256", nullptr}, Case{"HS384", nullptr}, Case{"HS512", nullptr},
                          Case{"RS256", t::rsa_key(2048)}, Case{"RS384", t::rsa_key(2048)},
                          Case{"RS512", t::rsa_key(2048)}, Case{"PS256", t::rsa_key(2048)},
                          Case{"PS384", t::rsa_key(2048)}, Case{"PS512", t::rsa_key(2048)},
                          Case{"ES256", t::ec_key("P-256")}, Case{"ES384", t::ec_key("P-384")},
                          Case{"ES512", t::ec_key("P-521")}, Case{"EdDSA", t::ed25519_key()},
                          Case{"Ed25519", t::ed25519_key()}}) {
        std::vector<std::string> sign_args = {"sign", "--alg", c.alg};
        std::vector<std::string> verify_args = {"verify", "--alg", c.alg, "--now", "1700000000"};
        if (c.pkey == nullptr) {
            for (auto* args : {&sign_args, &verify_args})
                args->insert(args->end(), {"--secret-file", path("secret64")});
        } else {
            write("private.pem", t::private_pem(c.pkey));
            write("public.pem", t::public_pem(c.pkey, "SubjectPublicKeyInfo"));
            sign_args.insert(sign_args.end(), {"--key-file", path("private.pem")});
            verify_args.insert(verify_args.end(), {"--key-file", path("public.pem")});
        }
        sign_args.insert(sign_args.end(), {"--claims", R"({"sub":"all","exp":1700000600})"});
        const Outcome signed_token = run(sign_args);
        ASSERT_EQ(signed_token.code, 0) << c.alg << ": " << signed_token.err;
        const std::string token = signed_token.out.substr(0, signed_token.out.size() - 1);
        verify_args.push_back(token);
        const Outcome verified = run(verify_args);
        EXPECT_EQ(verified.code, 0) << c.alg << ": " << verified.err;
        EXPECT_EQ(verified.out, "{\"sub\":\"all\",\"exp\":1700000600}\n") << c.alg;
        // The header names the algorithm (Ed25519 is signed as EdDSA).
        const Outcome decoded = run({"decode", token});
        const std::string named = std::string_view(c.alg) == "Ed25519" ? "EdDSA" : c.alg;
        EXPECT_NE(decoded.out.find("\"alg\":\"" + named + "\""), std::string::npos) << decoded.out;
    }
    // An unknown --alg lists them all.
    const Outcome unknown =
        run({"sign", "--alg", "ES256K", "--key-file", path("private.pem"), "--claims", "{}"});
    EXPECT_EQ(unknown.code, 2);
    for (const std::string_view alg : jwtguard::all_algorithms)
        EXPECT_NE(unknown.err.find(alg), std::string::npos) << alg;
    // An EC key names its own algorithm: --alg may not say another.
    write("ec.pem", t::public_pem(t::ec_key("P-256"), "SubjectPublicKeyInfo"));
    EXPECT_EQ(run({"verify", "--alg", "ES384", "--key-file", path("ec.pem"), "x.y.z"}).code, 2);
    EXPECT_EQ(run({"verify", "--alg", "RS256", "--key-file", path("ec.pem"), "x.y.z"}).code, 2);
}

TEST_F(Cli, VerifiesWithAJwksFile) {
    namespace t = jwtguard::test;
    EVP_PKEY* one = t::rsa_key(2048);
    EVP_PKEY* two = t::rsa_key(3072);
    write("keys.jwks", t::jwks({t::rsa_jwk(one, R"(,"kid":"one","alg":"RS256")"),
                                t::rsa_jwk(two, R"(,"kid":"two")"),  // no alg: takes --alg
                                t::rsa_jwk(two, R"(,"kid":"enc","alg":"RS256","use":"enc")")}));
    const std::string by_one =
        t::rs256_token(one, R"({"alg":"RS256","kid":"one"})", R"({"sub":"1","exp":1700000600})");
    const std::string by_two =
        t::rs256_token(two, R"({"alg":"RS256","kid":"two"})", R"({"sub":"2","exp":1700000600})");
    auto verify_jwks = [&](const std::string& token, std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"verify", "--jwks-file", path("keys.jwks"), "--now",
                                         "1700000000"};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(token);
        return run(args);
    };
    const Outcome first = verify_jwks(by_one);
    EXPECT_EQ(first.code, 0) << first.err;
    EXPECT_EQ(first.out, "{\"sub\":\"1\",\"exp\":1700000600}\n");
    // The refused keys are reported one by one, the rest still work.
    EXPECT_NE(first.err.find("warning: jwks: key #1 (kid \"two\") skipped: key_invalid"),
              std::string::npos)
        << first.err;
    EXPECT_NE(first.err.find("warning: jwks: key #2 (kid \"enc\") skipped: key_invalid"),
              std::string::npos)
        << first.err;
    EXPECT_EQ(verify_jwks(by_two).err.rfind("warning", 0), 0u);
    EXPECT_EQ(verify_jwks(by_two).code, 1);  // kid "two" was not loaded without --alg
    const Outcome second = verify_jwks(by_two, {"--alg", "RS256"});
    EXPECT_EQ(second.code, 0) << second.err;
    // Nothing usable: exit 2.
    write("empty.jwks", R"({"keys":[]})");
    const Outcome empty = run({"verify", "--jwks-file", path("empty.jwks"), by_one});
    EXPECT_EQ(empty.code, 2);
    EXPECT_EQ(empty.err.rfind("error: key_invalid: ", 0), 0u) << empty.err;
    write("broken.jwks", "{");
    EXPECT_EQ(run({"verify", "--jwks-file", path("broken.jwks"), by_one}).code, 2);
}

}  // namespace
