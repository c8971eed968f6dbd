// The jwtguard command line: a thin layer over the library (DESIGN.md, "The
// CLI contract"). It parses arguments, reads files and prints; every decision
// about a token is the library's.
//
// Exit codes: 0 valid, 1 invalid token (or claims refused by sign), 2 usage
// error or unreadable/unacceptable key.
#include <jwtguard/jwtguard.hpp>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int exit_valid = 0;
constexpr int exit_invalid = 1;
constexpr int exit_usage = 2;

constexpr const char* usage_text = R"(usage:
  jwtguard verify [--alg ALG] (--secret-file F | --key-file PEM | --jwks-file F)
                  [--iss S] [--aud S] [--leeway SECONDS] [--now EPOCH] [--max-size BYTES]
                  [--typ TYP] [--revoked-jti JTI]... [--journal PATH] [TOKEN | -]
  jwtguard sign --alg ALG (--secret-file F | --key-file PRIVATE.pem) [--kid K]
                (--claims JSON | --claims-file F)
  ALG: HS256 HS384 HS512 (--secret-file), RS256 RS384 RS512 PS256 PS384 PS512,
       ES256 ES384 ES512, EdDSA or Ed25519 (PEM keys). verify --key-file: an RSA
       key is RS256 unless --alg says otherwise; EC and Ed25519 keys name their own.
  jwtguard decode [TOKEN | -]
  jwtguard revoke --journal PATH (--jti JTI --exp EPOCH | --token TOKEN | --sub SUB --before EPOCH)
                  [--now EPOCH]
  jwtguard compact --journal PATH [--now EPOCH]
exit: 0 valid (revoke: recorded), 1 invalid token, 2 usage error, unusable key or journal
)";

/// A usage problem: printed as "error: usage: <what>" with exit code 2.
struct UsageError {
    std::string what;
};

[[noreturn]] void usage(std::string what) {
    throw UsageError{std::move(what)};
}

/// Refuses an --alg that names no JWS signature algorithm.
void check_algorithm(const std::string& alg) {
    for (const std::string_view known : jwtguard::all_algorithms)
        if (alg == known) return;
    std::string all;
    for (const std::string_view known : jwtguard::all_algorithms)
        (all += all.empty() ? "" : ", ") += known;
    usage("--alg must be one of " + all + "; got '" + alg + "'");
}

std::string read_file(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) usage(std::string("cannot read ") + what + " '" + path + "'");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The token from the positional argument (byte for byte) or stdin ("-" or
/// none), which loses one trailing newline.
std::string read_token(const std::optional<std::string>& positional) {
    if (positional && *positional != "-") return *positional;
    std::string token((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (!token.empty() && token.back() == '\n') token.pop_back();
    return token;
}

std::int64_t parse_integer(std::string_view text, const char* option, std::int64_t min,
                           std::int64_t max) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < min ||
        value > max)
        usage(std::string(option) + " needs an integer in [" + std::to_string(min) + ", " +
              std::to_string(max) + "], got '" + std::string(text) + "'");
    return value;
}

/// An instant given on the command line: a NumericDate in whole seconds
/// (time.hpp's one range).
std::int64_t parse_date(std::string_view text, const char* option) {
    return parse_integer(text, option, 0, jwtguard::max_numeric_date);
}

/// A token's exp as the token carries it (any JSON number, fractions
/// included), taken the way the denylist keys a token: rounded up to whole
/// seconds, as Claims::exp holds it. So `--exp 100.5` revokes the token
/// whose exp is 100.5, which `--exp 100` would miss.
std::int64_t parse_exp(const std::string& text) {
    // Read as the exp of a claims set, by the library's own reader; only
    // number characters, so that nothing but a number can be read.
    if (!text.empty() && text.find_first_not_of("0123456789.eE+-") == std::string::npos) {
        const std::string json = R"({"exp":)" + text + "}";
        jwtguard::detail::JsonBuffer buffer(json);
        const auto claims = std::make_unique<jwtguard::Claims>();
        if (jwtguard::detail::parse_claims(buffer.data(), buffer.size(), *claims) ==
                jwtguard::Error::ok &&
            claims->exp)
            return *claims->exp;
    }
    usage("--exp needs the token's exp as a JSON number in [0, 2^53], got '" + text + "'");
}

/// Walks argv: options with a value, flags and at most one positional.
class Arguments {
  public:
    Arguments(int argc, char** argv, int first) : m_args(argv + first, argv + argc) {}

    [[nodiscard]] bool done() const { return m_next >= m_args.size(); }
    [[nodiscard]] std::string_view peek() const { return m_args[m_next]; }
    std::string take() { return m_args[m_next++]; }
    std::string value(std::string_view option) {
        if (done()) usage(std::string(option) + " needs a value");
        return take();
    }

  private:
    std::vector<std::string> m_args;
    std::size_t m_next = 0;
};

void print_error(jwtguard::Error e) {
    std::cerr << "error: " << jwtguard::to_string(e) << ": " << jwtguard::message(e) << '\n';
}

std::int64_t current_time() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

/// A denylist loaded from `journal` (if given), warning about damage found.
std::unique_ptr<jwtguard::Denylist> open_denylist(const std::optional<std::string>& journal,
                                                  std::int64_t leeway, std::int64_t now,
                                                  bool read_only) {
    jwtguard::DenylistOptions options;
    options.leeway = leeway;
    if (journal) {
        options.journal_path = *journal;
        options.journal_read_only = read_only;
    }
    std::unique_ptr<jwtguard::Denylist> denylist;
    try {
        denylist = std::make_unique<jwtguard::Denylist>(options, now);
    } catch (const std::system_error& e) {
        usage(std::string("journal: ") + e.what());
    }
    const jwtguard::JournalReport& report = denylist->journal_report();
    if (report.corrupt_records > 0)
        std::cerr << "warning: journal: skipped " << report.corrupt_records
                  << " corrupt record(s)\n";
    if (report.torn_tail_bytes > 0)
        std::cerr << "warning: journal: " << report.torn_tail_bytes
                  << " byte(s) of an incomplete last record " << (read_only ? "ignored" : "cut off")
                  << '\n';
    return denylist;
}

int verify(Arguments args) {
    std::optional<std::string> alg, secret_file, key_file, jwks_file, token_arg;
    jwtguard::Validator::Options options;
    std::optional<std::int64_t> now;
    std::vector<std::string> revoked;
    std::optional<std::string> journal;
    while (!args.done()) {
        const std::string arg = args.take();
        if (arg == "--alg")
            alg = args.value(arg);
        else if (arg == "--secret-file")
            secret_file = args.value(arg);
        else if (arg == "--key-file")
            key_file = args.value(arg);
        else if (arg == "--jwks-file")
            jwks_file = args.value(arg);
        else if (arg == "--iss")
            options.issuers.push_back(args.value(arg));
        else if (arg == "--aud")
            options.audiences.push_back(args.value(arg));
        else if (arg == "--typ")
            options.typ = args.value(arg);
        else if (arg == "--leeway")
            options.leeway = parse_integer(args.value(arg), "--leeway", 0, std::int64_t{1} << 31);
        else if (arg == "--now")
            now = parse_date(args.value(arg), "--now");
        else if (arg == "--max-size")
            options.max_token_size = static_cast<std::size_t>(
                parse_integer(args.value(arg), "--max-size", 1,
                              static_cast<std::int64_t>(jwtguard::max_token_size_limit)));
        else if (arg == "--revoked-jti")
            revoked.push_back(args.value(arg));
        else if (arg == "--journal")
            journal = args.value(arg);
        else if (arg.size() > 1 && arg[0] == '-')
            usage("unknown option '" + arg + "'");
        else if (token_arg)
            usage("more than one token given");
        else
            token_arg = arg;
    }
    const int key_sources = !!secret_file + !!key_file + !!jwks_file;
    if (key_sources != 1) usage("give exactly one of --secret-file, --key-file, --jwks-file");
    if (alg) check_algorithm(*alg);
    jwtguard::KeySet keys;
    if (jwks_file) {
        // Each JWK pins its own algorithm; --alg is the default for JWKs without one.
        const jwtguard::JwksLoad load =
            jwtguard::load_jwks(read_file(*jwks_file, "JWKS file"),
                                alg ? std::optional<std::string_view>(*alg) : std::nullopt);
        for (const jwtguard::JwkRejection& r : load.rejected)
            std::cerr << "warning: jwks: key #" << r.index
                      << (r.kid ? " (kid \"" + *r.kid + "\")" : std::string())
                      << " skipped: " << jwtguard::to_string(r.code) << ": " << r.reason << '\n';
        if (load.keys.empty())
            throw jwtguard::SetupError(jwtguard::Error::key_invalid, "no usable key in the JWKS");
        keys = load.keys;
    } else {
        // The key fixes the algorithm; --alg chooses among those it allows.
        const std::optional<std::string_view> chosen =
            alg ? std::optional<std::string_view>(*alg) : std::nullopt;
        keys.add(secret_file
                     ? jwtguard::load_secret_key(read_file(*secret_file, "secret file"),
                                                 chosen.value_or("HS256"))
                     : jwtguard::load_pem_public_key(read_file(*key_file, "key file"), chosen));
    }
    const std::string token = read_token(token_arg);
    const std::int64_t at = now ? *now : current_time();
    auto claims = std::make_unique<jwtguard::Claims>();
    if (const jwtguard::Error e = jwtguard::Validator(keys, options).validate(token, at, *claims);
        e != jwtguard::Error::ok) {
        print_error(e);
        return exit_invalid;
    }
    if (journal || !revoked.empty()) {
        // The token holds without revocations: now ask the denylist (the
        // journal's, plus the --revoked-jti ones, which name this token's
        // jti whatever its exp).
        std::unique_ptr<jwtguard::Denylist> denylist =
            open_denylist(journal, options.leeway, at, /*read_only=*/true);
        for (const std::string& jti : revoked)
            if (claims->jti && *claims->jti == jti) (void)denylist->revoke_jti(jti, claims->exp);
        options.denylist = denylist.get();
        if (const jwtguard::Error e =
                jwtguard::Validator(keys, options).validate(token, at, *claims);
            e != jwtguard::Error::ok) {
            print_error(e);
            return exit_invalid;
        }
    }
    std::cout << jwtguard::detail::compact_claims(claims->payload_json()) << '\n';
    return exit_valid;
}

int sign(Arguments args) {
    std::optional<std::string> alg, secret_file, key_file, claims, claims_file;
    jwtguard::SignOptions options;
    while (!args.done()) {
        const std::string arg = args.take();
        if (arg == "--alg")
            alg = args.value(arg);
        else if (arg == "--secret-file")
            secret_file = args.value(arg);
        else if (arg == "--key-file")
            key_file = args.value(arg);
        else if (arg == "--kid")
            options.kid = args.value(arg);
        else if (arg == "--claims")
            claims = args.value(arg);
        else if (arg == "--claims-file")
            claims_file = args.value(arg);
        else
            usage("unexpected argument '" + arg + "'");
    }
    if (!alg) usage("sign needs --alg");
    check_algorithm(*alg);
    const bool hmac = alg->starts_with("HS");
    if (hmac && (!secret_file || key_file)) usage("sign --alg " + *alg + " needs --secret-file");
    if (!hmac && (!key_file || secret_file))
        usage("sign --alg " + *alg + " needs --key-file PRIVATE.pem");
    if (!!claims == !!claims_file) usage("give exactly one of --claims, --claims-file");
    // Keys first: an unusable key is a usage problem (exit 2) whatever the claims.
    const jwtguard::AnySigningKey key = jwtguard::make_signing_key(
        *alg, hmac ? read_file(*secret_file, "secret file") : read_file(*key_file, "key file"));
    const std::string body = claims ? *claims : read_file(*claims_file, "claims file");
    try {
        std::cout << jwtguard::sign(key, body, options) << '\n';
    } catch (const jwtguard::SetupError& e) {
        // Claims the validator would refuse: the token's fault, not the key's.
        print_error(e.code());
        return exit_invalid;
    }
    return exit_valid;
}

/// Strictly decodes one segment and checks it is a JSON object; prints
/// nothing on success.
jwtguard::Error decode_segment(std::string_view segment, bool payload, std::string& json) {
    json.resize(jwtguard::base64url_decoded_size(segment.size()) + 1);
    std::size_t size = 0;
    const auto status =
        jwtguard::base64url_decode(segment, reinterpret_cast<unsigned char*>(json.data()), size);
    if (status != jwtguard::Base64Status::ok)
        return jwtguard::detail::base64_error(status, payload ? 1 : 0);
    json.resize(size);
    jwtguard::detail::JsonBuffer scratch(json);  // the structure check unescapes in place
    return jwtguard::detail::check_json_structure(scratch.data(), scratch.size(), payload);
}

int decode(Arguments args) {
    std::optional<std::string> token_arg;
    while (!args.done()) {
        const std::string arg = args.take();
        if (arg.size() > 1 && arg[0] == '-') usage("unknown option '" + arg + "'");
        if (token_arg) usage("more than one token given");
        token_arg = arg;
    }
    const std::string token = read_token(token_arg);
    jwtguard::detail::Segments parts;
    if (token.size() > jwtguard::max_token_size_limit) {
        print_error(jwtguard::Error::token_too_large);
        return exit_invalid;
    }
    if (!jwtguard::detail::split_token(token, parts)) {
        print_error(jwtguard::Error::token_malformed);
        return exit_invalid;
    }
    std::string header, payload;
    for (const auto& [segment, payload_part, out] :
         {std::tuple{parts.header, false, &header}, std::tuple{parts.payload, true, &payload}}) {
        if (const jwtguard::Error e = decode_segment(segment, payload_part, *out);
            e != jwtguard::Error::ok) {
            print_error(e);
            return exit_invalid;
        }
    }
    // The structure check above guarantees both re-serialize.
    std::cout << R"({"UNVERIFIED":"the signature was not checked","header":)"
              << jwtguard::detail::compact_json(header) << R"(,"payload":)"
              << jwtguard::detail::compact_json(payload) << "}\n";
    return exit_valid;
}

// The validators that read a journal may allow some leeway, which this tool
// does not know: it judges "already expired" generously (a day), in revoke
// and in what compact keeps. The journal records the exact exp; every
// reader applies its own leeway.
constexpr std::int64_t generous_leeway = 86400;

int revoke(Arguments args) {
    std::optional<std::string> journal, jti, token, sub;
    std::optional<std::int64_t> exp, before, now;
    std::string exp_text;
    while (!args.done()) {
        const std::string arg = args.take();
        if (arg == "--journal")
            journal = args.value(arg);
        else if (arg == "--jti")
            jti = args.value(arg);
        else if (arg == "--exp")
            exp = parse_exp(exp_text = args.value(arg));
        else if (arg == "--token")
            token = args.value(arg);
        else if (arg == "--sub")
            sub = args.value(arg);
        else if (arg == "--before")
            before = parse_date(args.value(arg), "--before");
        else if (arg == "--now")
            now = parse_date(args.value(arg), "--now");
        else
            usage("unexpected argument '" + arg + "'");
    }
    if (!journal) usage("revoke needs --journal");
    if (!!jti + !!token + !!sub != 1) usage("give exactly one of --jti, --token, --sub");
    if (!!jti != !!exp) usage("--jti and --exp go together");
    if (!!sub != !!before) usage("--sub and --before go together");
    std::unique_ptr<jwtguard::Denylist> denylist =
        open_denylist(journal, generous_leeway, now ? *now : current_time(), /*read_only=*/false);
    jwtguard::RevokeResult result{};
    if (jti) {
        if (std::to_string(*exp) != exp_text)
            std::cerr << "note: --exp " << exp_text << " is the exp " << *exp
                      << " (whole seconds, rounded up, as a token's exp is keyed)\n";
        result = denylist->revoke_jti(*jti, *exp);
    } else if (sub) {
        result = denylist->revoke_subject(*sub, *before);
    } else {
        const std::string text = read_token(*token == "-" ? std::nullopt : token);
        if (const jwtguard::Error e = denylist->revoke_token(text, &result);
            e != jwtguard::Error::ok) {
            print_error(e);
            return exit_invalid;
        }
    }
    constexpr const char* names[] = {"added", "already_revoked", "already_expired"};
    std::cout << names[static_cast<int>(result)] << '\n';
    return exit_valid;
}

/// Moves what is live into the snapshot and starts an empty journal, while
/// processes that follow the journal (nginx's workers) keep running.
int compact(Arguments args) {
    std::optional<std::string> journal;
    std::optional<std::int64_t> now;
    while (!args.done()) {
        const std::string arg = args.take();
        if (arg == "--journal")
            journal = args.value(arg);
        else if (arg == "--now")
            now = parse_date(args.value(arg), "--now");
        else
            usage("unexpected argument '" + arg + "'");
    }
    if (!journal) usage("compact needs --journal");
    std::unique_ptr<jwtguard::Denylist> denylist =
        open_denylist(journal, generous_leeway, now ? *now : current_time(), /*read_only=*/false);
    try {
        denylist->compact();
    } catch (const std::system_error& e) {
        usage(std::string("journal: ") + e.what());
    }
    std::cout << denylist->size() << " revocations and " << denylist->subjects()
              << " subject cut-offs in the snapshot\n";
    return exit_valid;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc < 2) usage("no command given");
        const std::string_view command = argv[1];
        Arguments args(argc, argv, 2);
        if (command == "verify") return verify(std::move(args));
        if (command == "sign") return sign(std::move(args));
        if (command == "decode") return decode(std::move(args));
        if (command == "revoke") return revoke(std::move(args));
        if (command == "compact") return compact(std::move(args));
        if (command == "--help" || command == "-h" || command == "help") {
            std::cout << usage_text;
            return exit_valid;
        }
        usage("unknown command '" + std::string(command) + "'");
    } catch (const UsageError& e) {
        std::cerr << "error: usage: " << e.what << '\n' << usage_text;
        return exit_usage;
    } catch (const jwtguard::SetupError& e) {
        std::cerr << "error: " << jwtguard::to_string(e.code()) << ": " << e.what() << '\n';
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return exit_usage;
    }
}
