// Writes a revocation journal holding N live revocations (random jtis, exp
// within the next hour), for the load script's "HS256 with 1M live
// revocations" location.
//   jwtguard_nginx_make_journal PATH N
#include <jwtguard/denylist.hpp>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s PATH N\n", argv[0]);
        return 2;
    }
    const long long n = std::atoll(argv[2]);
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    jwtguard::DenylistOptions options;
    options.journal_path = argv[1];
    options.journal_sync = jwtguard::JournalSync::none;
    jwtguard::Denylist denylist(options, now);
    std::mt19937_64 random(42);
    std::vector<jwtguard::Revocation> batch;
    for (long long i = 0; i < n; ++i) {
        std::string jti = "load-" + std::to_string(random());
        batch.push_back(jwtguard::Denylist::jti_revocation(
            jti, now + 600 + static_cast<std::int64_t>(random() % 3000)));
        if (batch.size() == 65536 || i + 1 == n) {
            denylist.apply_all(batch);
            batch.clear();
        }
    }
    std::printf("%zu live revocations in %s\n", denylist.size(), argv[1]);
    return 0;
}
