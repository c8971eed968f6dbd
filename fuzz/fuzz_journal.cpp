// Arbitrary bytes as a journal or snapshot file. Loading must never crash,
// must refuse a file whose magic is wrong, must count what it read exactly
// as an independent reading of the record format does (denylist.hpp), must
// hold every live entry of every well-formed record, and must hold nothing
// else: after loading, compact() writes what the denylist holds, and every
// record of that snapshot must come from a well-formed input record.
//
// The first byte chooses: bit 0 the file is a snapshot (else a journal);
// bit 1 the harness writes the right magic over the first 8 bytes; bit 2 it
// writes correct checksums into every record (so that the fuzzer reaches
// the field checks behind them); bits 3-4 the load time. The second byte
// chooses the bucket width.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "jwtguard/denylist.hpp"

namespace {

namespace format = jwtguard::detail;  // constants only: the layout is read here anew

constexpr std::int64_t no_exp = INT64_MAX;
constexpr std::int64_t max_date = std::int64_t{1} << 53;

struct Entry {
    unsigned kind;
    std::int64_t first, last;
    std::uint64_t lo, hi;
};

std::uint64_t le64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v |= std::uint64_t{p[i]} << (8 * i);
    return v;
}

std::uint64_t checksum(const unsigned char* record) {
    return XXH3_64bits_withSeed(record, 40, format::record_checksum_seed);
}

/// One 48-byte record as the format comment in denylist.hpp defines it.
std::optional<Entry> read_record(const unsigned char* r) {
    if (le64(r + 40) != checksum(r)) return std::nullopt;
    for (int i = 1; i < 8; ++i)
        if (r[i] != 0) return std::nullopt;
    const Entry e{r[0], static_cast<std::int64_t>(le64(r + 8)),
                  static_cast<std::int64_t>(le64(r + 16)), le64(r + 24), le64(r + 32)};
    if (e.hi == 0) return std::nullopt;  // marks an empty slot in memory
    auto date = [](std::int64_t t) { return t >= 0 && t <= max_date; };
    if (e.kind == 1) {
        // One exp, none twice, or a range of dates less than a year wide.
        if (e.first == no_exp || e.last == no_exp)
            return e.first == e.last ? std::optional(e) : std::nullopt;
        return date(e.first) && date(e.last) && e.first <= e.last &&
                       e.last - e.first < std::int64_t{86400} * 365
                   ? std::optional(e)
                   : std::nullopt;
    }
    if (e.kind == 2) return date(e.first) && e.first == e.last ? std::optional(e) : std::nullopt;
    return std::nullopt;
}

std::vector<unsigned char> read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    FUZZ_CHECK(out.good());
}

/// A private folder for the files of one input, removed at exit (a run
/// stopped by a finding leaves it, with the input's files, to look at).
class Directory {
  public:
    Directory() {
        const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        m_path = std::string(base) + "/jwtguard-fuzz-journal-XXXXXX";
        FUZZ_CHECK(mkdtemp(m_path.data()) != nullptr);
    }
    ~Directory() { std::filesystem::remove_all(m_path); }
    [[nodiscard]] const std::string& path() const { return m_path; }

  private:
    std::string m_path;
};

const std::string& directory() {
    static const Directory dir;
    return dir.path();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const bool snapshot = data[0] & 1;
    static constexpr std::int64_t times[] = {0, 1000, fuzz::now, max_date / 2};
    const std::int64_t now = times[(data[0] >> 3) % 4];
    jwtguard::DenylistOptions o;
    o.bucket_width = 1 + data[1] % 120;
    o.horizon = 3600;
    o.journal_path = directory() + "/journal";
    o.journal_sync = jwtguard::JournalSync::none;
    const std::string snapshot_path = o.journal_path + ".snapshot";

    std::vector<unsigned char> image(data + 2, data + size);
    const char* magic = snapshot ? format::snapshot_magic : format::journal_magic;
    if ((data[0] & 2) && image.size() >= format::magic_size)
        std::memcpy(image.data(), magic, format::magic_size);
    if (data[0] & 4)
        for (std::size_t at = format::magic_size; at + format::record_size <= image.size();
             at += format::record_size) {
            const std::uint64_t sum = checksum(image.data() + at);
            for (int i = 0; i < 8; ++i)
                image[at + 40 + i] = static_cast<unsigned char>(sum >> (8 * i));
        }
    unlink(o.journal_path.c_str());
    unlink(snapshot_path.c_str());
    write_all(snapshot ? snapshot_path : o.journal_path, image);

    // The reference reading.
    const std::size_t prefix = std::min(image.size(), format::magic_size);
    const bool magic_ok = snapshot ? image.size() >= format::magic_size &&
                                         std::memcmp(image.data(), magic, format::magic_size) == 0
                                   : prefix == 0 || std::memcmp(image.data(), magic, prefix) == 0;
    std::vector<Entry> good;
    std::size_t corrupt = 0, at = format::magic_size;
    for (; image.size() >= format::magic_size && at + format::record_size <= image.size();
         at += format::record_size) {
        if (const auto e = read_record(image.data() + at))
            good.push_back(*e);
        else
            ++corrupt;
    }
    const std::size_t tail = image.size() >= format::magic_size ? image.size() - at : 0;

    std::optional<jwtguard::Denylist> d;
    try {
        d.emplace(o, now);
    } catch (const jwtguard::SetupError& e) {
        FUZZ_CHECK(!magic_ok);
        FUZZ_CHECK(e.code() == jwtguard::Error::option_invalid);
        return 0;
    }
    FUZZ_CHECK(magic_ok);
    const jwtguard::JournalReport& report = d->journal_report();
    FUZZ_CHECK((snapshot ? report.snapshot_records : report.journal_records) == good.size());
    FUZZ_CHECK(report.corrupt_records == corrupt + (snapshot && tail > 0 ? 1 : 0));
    FUZZ_CHECK(report.torn_tail_bytes == (snapshot ? 0 : tail));

    // Every live entry is held...
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::int64_t> cutoffs;
    for (const Entry& e : good) {
        if (e.kind == 2) {
            auto [it, added] = cutoffs.try_emplace({e.lo, e.hi}, e.first);
            if (!added) it->second = std::max(it->second, e.first);
            continue;
        }
        for (const std::int64_t exp : {e.first, e.last}) {
            if (exp != no_exp && now >= exp + o.bucket_width) continue;  // may be gone
            jwtguard::Denylist::Key key =
                d->jti_key("", exp == no_exp ? std::nullopt : std::optional<std::int64_t>(exp));
            key.fp = {e.lo, e.hi};
            FUZZ_CHECK(d->contains(key));
        }
    }
    // ... and nothing else.
    d->compact();
    const std::vector<unsigned char> held = read_all(snapshot_path);
    FUZZ_CHECK(held.size() >= format::magic_size &&
               (held.size() - format::magic_size) % format::record_size == 0);
    std::size_t subjects = 0;
    for (std::size_t r = format::magic_size; r < held.size(); r += format::record_size) {
        const auto s = read_record(held.data() + r);
        FUZZ_CHECK(s.has_value());
        if (s->kind == 2) {
            ++subjects;
            const auto it = cutoffs.find({s->lo, s->hi});
            FUZZ_CHECK(it != cutoffs.end() && it->second == s->first);
            continue;
        }
        bool from_input = false;
        for (const Entry& e : good)
            from_input |= e.kind == 1 && e.lo == s->lo && e.hi == s->hi && e.first <= s->last &&
                          s->first <= e.last;
        FUZZ_CHECK(from_input);
    }
    FUZZ_CHECK(subjects == cutoffs.size());  // cut-offs never expire here (no max lifetime)
    return 0;
}
