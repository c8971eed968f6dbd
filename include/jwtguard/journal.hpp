// Journal and snapshot files: the one format revocations are stored in, and
// the one way they are written and read, by one process or by several.
//
// Files. `<path>` is the journal: an 8-byte magic, then one 48-byte record
// per revocation, appended (and fdatasync'ed if asked) before a revocation
// returns. `<path>.snapshot` holds every live revocation as of the last
// compaction (same records, another magic). `<path>.lock` is only ever
// locked. Loading reads the snapshot, then the journal; a torn tail (a crash
// mid-write) is cut, and a record that fails its checksum or its ranges is
// skipped and counted, never guessed at.
//
// Several processes. Any number of processes may share one journal (nginx's
// workers and `jwtguard revoke`, say). Writers append and compact under an
// exclusive flock(2) of `<path>.lock`, loading takes it shared, and every
// write is of whole records, so records never interleave. A compaction
// renames a new snapshot over the old one and then a new, empty journal over
// the old journal: the journal at `<path>` becomes a new file (a new inode)
// exactly when everything before it went into the snapshot. A writer checks
// under the lock that its descriptor is still the file at `<path>` and
// reopens it if not, so no record is ever written into a replaced journal.
//
// Following. A process reads what others appended with `catch_up`, which
// takes no lock (it never waits for a writer) and relies on three facts:
//   - it reads whole records only, up to the file's size; the tail of a
//     record still being written lies beyond a whole record and is read on a
//     later call;
//   - a journal never shrinks in place (a torn tail is cut only under the
//     lock, before the next record is written, and only back to the last
//     whole record, which a follower never passed);
//   - when the journal at `<path>` is a new file, the follower opens it
//     first and reads the snapshot after: the snapshot it reads is then at
//     least as new as the compaction that made that journal, so whatever
//     the old journal held that the follower had not read is in it.
// Applying a record twice is harmless (a revocation already held changes
// nothing), which is what makes re-reading safe.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "jwtguard/error.hpp"
#include "jwtguard/time.hpp"

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace jwtguard {

/// When the journal reaches the disk.
enum class JournalSync : std::uint8_t {
    /// write(2) only: survives a crash of the process, not of the machine.
    none,
    /// fdatasync(2) after every record (after the whole batch for apply_all),
    /// before the revocation returns.
    each_record,
};

/// What start-up found in the snapshot and journal.
struct JournalReport {
    std::size_t snapshot_records = 0;
    std::size_t journal_records = 0;
    /// Records whose entries had expired by load time (left out).
    std::size_t expired_records = 0;
    /// Records that failed their checksum or made no sense: skipped.
    std::size_t corrupt_records = 0;
    /// Bytes of an incomplete last record, cut off the journal.
    std::size_t torn_tail_bytes = 0;
    [[nodiscard]] bool clean() const noexcept {
        return corrupt_records == 0 && torn_tail_bytes == 0;
    }
};

/// What one catch_up found.
struct CatchUpReport {
    /// Whole records read from the journal, and from a new snapshot.
    std::size_t journal_records = 0;
    std::size_t snapshot_records = 0;
    /// Records that added a revocation this process did not hold.
    std::size_t added = 0;
    /// Records skipped: failed their checksum or made no sense.
    std::size_t corrupt_records = 0;
    /// The journal at the path was a new file (another process compacted):
    /// the snapshot was read again.
    bool reloaded = false;
};

namespace detail {

struct Fingerprint {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

/// `exp` of a token that has none: it never expires, nor does its revocation.
inline constexpr std::int64_t no_exp = std::numeric_limits<std::int64_t>::max();

// A record:
//   [0]      kind: 1 revoked fingerprint, 2 subject cut-off
//   [1..7]   zero
//   [8..15]  first  (little-endian int64): for kind 1 the earliest exp the
//            token may have, for kind 2 the cut-off
//   [16..23] last   for kind 1 the latest exp (equal to first in a journal;
//            a snapshot records a bucket's range), for kind 2 equal to first
//   [24..39] fingerprint, lo then hi
//   [40..47] XXH3-64 of bytes [0, 40)
// `no_exp` marks a token without exp. A record is accepted only if its
// checksum holds and every field is in range.

inline constexpr char journal_magic[8] = {'j', 'w', 't', 'g', 'J', 'N', 'L', '1'};
inline constexpr char snapshot_magic[8] = {'j', 'w', 't', 'g', 'S', 'N', 'P', '1'};
inline constexpr std::size_t magic_size = 8;
inline constexpr std::size_t record_size = 48;
inline constexpr std::uint64_t record_checksum_seed = 0x6a77746775617264;  // "jwtguard"

enum class RecordKind : std::uint8_t { revoked = 1, subject = 2 };

struct Record {
    RecordKind kind = RecordKind::revoked;
    std::int64_t first = 0;
    std::int64_t last = 0;
    Fingerprint fp;
};

inline void store_le64(unsigned char* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<unsigned char>(v >> (8 * i));
}
[[nodiscard]] inline std::uint64_t load_le64(const unsigned char* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

inline void encode_record(const Record& r, unsigned char* out) noexcept {
    std::memset(out, 0, record_size);
    out[0] = static_cast<unsigned char>(r.kind);
    store_le64(out + 8, static_cast<std::uint64_t>(r.first));
    store_le64(out + 16, static_cast<std::uint64_t>(r.last));
    store_le64(out + 24, r.fp.lo);
    store_le64(out + 32, r.fp.hi);
    store_le64(out + 40, XXH3_64bits_withSeed(out, 40, record_checksum_seed));
}

/// The widest exp range one record may carry: one bucket of the widest
/// width (DenylistOptions::bucket_width), which is what a snapshot records.
inline constexpr std::int64_t max_record_span = 86400 * 365;

/// True when every field of `r` is in range for its kind: a token's exp
/// range is one NumericDate, `no_exp` twice, or dates at most
/// max_record_span apart; a cut-off is one NumericDate. Anything else (a
/// damaged or hostile file asking for every bucket of the ring) is refused.
[[nodiscard]] inline bool record_valid(const Record& r) noexcept {
    if (r.fp.hi == 0) return false;
    switch (r.kind) {
        case RecordKind::revoked:
            if (r.first == no_exp || r.last == no_exp) return r.first == r.last;
            return is_numeric_date(r.first) && is_numeric_date(r.last) && r.first <= r.last &&
                   r.last - r.first < max_record_span;
        case RecordKind::subject:
            return is_numeric_date(r.first) && r.first == r.last;
    }
    return false;
}

/// Decodes one record; false if anything about it is wrong.
[[nodiscard]] inline bool decode_record(const unsigned char* in, Record& r) noexcept {
    if (load_le64(in + 40) != XXH3_64bits_withSeed(in, 40, record_checksum_seed)) return false;
    for (int i = 1; i < 8; ++i)
        if (in[i] != 0) return false;
    if (in[0] != static_cast<unsigned char>(RecordKind::revoked) &&
        in[0] != static_cast<unsigned char>(RecordKind::subject))
        return false;
    r.kind = static_cast<RecordKind>(in[0]);
    r.first = static_cast<std::int64_t>(load_le64(in + 8));
    r.last = static_cast<std::int64_t>(load_le64(in + 16));
    r.fp = {load_le64(in + 24), load_le64(in + 32)};
    return record_valid(r);
}

[[noreturn]] inline void throw_io_error(const std::string& what, const std::string& path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path);
}

/// Writes all of `data` or throws.
inline void write_all(int fd, const unsigned char* data, std::size_t size,
                      const std::string& path) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io_error("cannot write", path);
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

/// An owned file descriptor.
class FileDescriptor {
  public:
    FileDescriptor() noexcept = default;
    explicit FileDescriptor(int fd) noexcept : m_fd(fd) {}
    FileDescriptor(FileDescriptor&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    FileDescriptor& operator=(FileDescriptor&& other) noexcept {
        if (this != &other) {
            reset();
            m_fd = std::exchange(other.m_fd, -1);
        }
        return *this;
    }
    ~FileDescriptor() { reset(); }
    void reset() noexcept {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = -1;
    }
    [[nodiscard]] int get() const noexcept { return m_fd; }
    explicit operator bool() const noexcept { return m_fd >= 0; }

  private:
    int m_fd = -1;
};

/// Reads `fd` from `offset` to its end.
[[nodiscard]] inline std::vector<unsigned char> read_rest(int fd, std::uint64_t offset,
                                                          const std::string& path) {
    std::vector<unsigned char> bytes;
    unsigned char chunk[1 << 16];
    for (;;) {
        const ssize_t n = ::pread(fd, chunk, sizeof chunk, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io_error("cannot read", path);
        }
        if (n == 0) break;
        bytes.insert(bytes.end(), chunk, chunk + n);
        offset += static_cast<std::uint64_t>(n);
    }
    return bytes;
}

/// Reads a whole file; nullopt if it does not exist.
[[nodiscard]] inline std::optional<std::vector<unsigned char>> read_file(const std::string& path) {
    const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::nullopt;
        throw_io_error("cannot open", path);
    }
    return read_rest(fd.get(), 0, path);
}

/// fsyncs the directory that holds `path`, so that a rename in it is durable
/// (best effort: some file systems refuse it).
inline void sync_directory_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    const FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) (void)::fsync(fd.get());
}

/// Writes `bytes` to `path` atomically: a temporary file, fsync'ed, renamed
/// over it.
inline void replace_file(const std::string& path, std::span<const unsigned char> bytes) {
    const std::string temporary = path + ".tmp";
    {
        const FileDescriptor fd(
            ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!fd) throw_io_error("cannot create", temporary);
        try {
            write_all(fd.get(), bytes.data(), bytes.size(), temporary);
            if (::fsync(fd.get()) != 0) throw_io_error("cannot sync", temporary);
        } catch (...) {
            ::unlink(temporary.c_str());
            throw;
        }
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(temporary.c_str());
        errno = saved;
        throw_io_error("cannot rename", temporary);
    }
    sync_directory_of(path);
}

/// Decodes the records of a journal or snapshot image. Returns the number of
/// bytes that hold whole records (the rest is a torn tail).
template <class F>
std::size_t for_each_record(std::span<const unsigned char> image, JournalReport& report,
                            std::size_t& good, F&& f) {
    std::size_t offset = magic_size;
    for (; offset + record_size <= image.size(); offset += record_size) {
        Record r;
        if (decode_record(image.data() + offset, r)) {
            ++good;
            f(r);
        } else {
            ++report.corrupt_records;
        }
    }
    return offset;
}

/// The identity of a file: which file a path names now.
struct FileId {
    dev_t device = 0;
    ino_t inode = 0;
    friend bool operator==(const FileId&, const FileId&) = default;
};

[[nodiscard]] inline FileId file_id(const struct stat& st) noexcept {
    return {st.st_dev, st.st_ino};
}

/// One process's view of a journal shared with others (see the top of this
/// file): loading, appending and compacting under `<path>.lock`, following
/// without a lock. Not thread-safe: the Denylist serializes its calls.
class JournalFile {
  public:
    /// `apply(record)` puts a record in force and says whether it added
    /// anything. Loads the snapshot, then the journal; a writer creates the
    /// journal if there is none and cuts a torn tail. Throws SetupError for a
    /// file that is not a journal or snapshot, std::system_error for I/O.
    template <class Apply>
    JournalFile(std::string path, JournalSync sync, bool read_only, JournalReport& report,
                Apply&& apply)
        : m_path(std::move(path)), m_sync(sync), m_read_only(read_only) {
        open_lock_file();
        const Lock lock(m_lock, m_read_only ? LOCK_SH : LOCK_EX);
        if (!m_read_only) create_if_missing();
        m_read = FileDescriptor(::open(m_path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!m_read) {
            if (errno == ENOENT && m_read_only) throw_io_error("no journal at", m_path);
            throw_io_error("cannot open", m_path);
        }
        m_read_id = id_of(m_read.get());
        read_snapshot(report.snapshot_records, report.corrupt_records, apply);
        const std::vector<unsigned char> image = read_rest(m_read.get(), 0, m_path);
        check_magic(image);
        if (image.size() < magic_size) {
            // Only a reader gets here (a writer made a whole journal above).
            errno = ENOENT;
            throw_io_error("no journal at", m_path);
        }
        const std::size_t keep = for_each_record(image, report, report.journal_records,
                                                 [&](const Record& r) { (void)apply(r); });
        report.torn_tail_bytes = image.size() - keep;
        m_read_offset = keep;
        if (m_read_only) return;
        open_for_append();
        if (report.torn_tail_bytes > 0) cut_to(keep);
    }

    /// Applies what was appended since the last look, and a new snapshot if
    /// the journal at the path is a new file. Takes no lock.
    template <class Apply>
    CatchUpReport catch_up(Apply&& apply) {
        CatchUpReport out;
        struct stat st {};
        if (::stat(m_path.c_str(), &st) != 0) {
            if (errno == ENOENT) return out;  // between a removal and a new journal
            throw_io_error("cannot stat", m_path);
        }
        if (file_id(st) != m_read_id) {
            // Open the journal first, the snapshot second: see the top.
            FileDescriptor fresh(::open(m_path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fresh) {
                if (errno == ENOENT) return out;
                throw_io_error("cannot open", m_path);
            }
            m_read = std::move(fresh);
            m_read_id = id_of(m_read.get());
            m_read_offset = 0;
            out.reloaded = true;
            read_snapshot(out.snapshot_records, out.corrupt_records,
                          [&](const Record& r) { out.added += apply(r) ? 1 : 0; });
        }
        read_appended(out, apply);
        return out;
    }

    /// Appends whole records under the lock (reopening the journal if a
    /// compaction replaced it, cutting a torn tail first), fdatasync'ed if
    /// asked. Needs a writer.
    void append(std::span<const Record> records) {
        if (records.empty()) return;
        const Lock lock(m_lock, LOCK_EX);
        if (file_id_at(m_path) != m_write_id) {
            create_if_missing();
            open_for_append();
        }
        struct stat st {};
        if (::fstat(m_write.get(), &st) != 0) throw_io_error("cannot stat", m_path);
        auto end = static_cast<std::uint64_t>(st.st_size);
        if (end < magic_size)
            throw SetupError(Error::option_invalid, m_path + " is not a jwtguard journal");
        if (const std::uint64_t torn = (end - magic_size) % record_size; torn != 0) {
            end -= torn;  // a writer died mid-record
            cut_to(end);
        }
        std::vector<unsigned char> bytes(records.size() * record_size);
        for (std::size_t i = 0; i < records.size(); ++i)
            encode_record(records[i], bytes.data() + i * record_size);
        write_all(m_write.get(), bytes.data(), bytes.size(), m_path);
        // What this process wrote, it holds: a later catch_up need not read it.
        if (m_read_id == m_write_id && m_read_offset == end) m_read_offset += bytes.size();
        if (m_sync == JournalSync::each_record && ::fdatasync(m_write.get()) != 0)
            throw_io_error("cannot sync", m_path);
    }

    /// Under the lock: catches up (so that what others appended is in force
    /// here and goes into the snapshot), writes `image_of()` as the new
    /// snapshot, then a new empty journal over the old one. Needs a writer.
    template <class Apply, class ImageOf>
    void compact(Apply&& apply, ImageOf&& image_of) {
        const Lock lock(m_lock, LOCK_EX);
        (void)catch_up(apply);
        const std::vector<unsigned char> image = image_of();
        replace_file(snapshot_path(), image);
        replace_file(m_path, {reinterpret_cast<const unsigned char*>(journal_magic), magic_size});
        open_for_append();
        m_read = FileDescriptor(::open(m_path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!m_read) throw_io_error("cannot open", m_path);
        m_read_id = m_write_id;
        m_read_offset = magic_size;
    }

    [[nodiscard]] bool writable() const noexcept { return static_cast<bool>(m_write); }
    [[nodiscard]] std::string snapshot_path() const { return m_path + ".snapshot"; }

  private:
    /// flock(2) held for a scope; none when the lock file could not be
    /// opened (a reader without write access to the directory).
    class Lock {
      public:
        Lock(const FileDescriptor& fd, int operation) : m_fd(fd.get()) {
            if (m_fd < 0) return;
            while (::flock(m_fd, operation) != 0)
                if (errno != EINTR)
                    throw std::system_error(errno, std::generic_category(), "cannot lock journal");
        }
        ~Lock() {
            if (m_fd >= 0) (void)::flock(m_fd, LOCK_UN);
        }
        Lock(const Lock&) = delete;
        Lock& operator=(const Lock&) = delete;

      private:
        int m_fd;
    };

    void open_lock_file() {
        const std::string path = m_path + ".lock";
        m_lock = FileDescriptor(
            ::open(path.c_str(), (m_read_only ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC, 0600));
        if (!m_lock && !m_read_only) throw_io_error("cannot open", path);
    }

    [[nodiscard]] FileId id_of(int fd) const {
        struct stat st {};
        if (::fstat(fd, &st) != 0) throw_io_error("cannot stat", m_path);
        return file_id(st);
    }

    /// The file at `path` now; a zero id if there is none.
    [[nodiscard]] static FileId file_id_at(const std::string& path) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            if (errno == ENOENT) return {};
            throw_io_error("cannot stat", path);
        }
        return file_id(st);
    }

    /// Refuses a file that does not start with the journal's magic (a
    /// shorter prefix of it is a journal torn while it was created).
    void check_magic(std::span<const unsigned char> image) const {
        const std::size_t prefix = std::min(image.size(), magic_size);
        if (prefix > 0 && std::memcmp(image.data(), journal_magic, prefix) != 0)
            throw SetupError(Error::option_invalid, m_path + " is not a jwtguard journal");
    }

    /// Under the exclusive lock: a journal holding at least its magic.
    void create_if_missing() {
        if (auto image = read_file(m_path)) {
            check_magic(*image);
            if (image->size() >= magic_size) return;
        }
        replace_file(m_path, {reinterpret_cast<const unsigned char*>(journal_magic), magic_size});
    }

    void open_for_append() {
        m_write = FileDescriptor(::open(m_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
        if (!m_write) throw_io_error("cannot open", m_path);
        m_write_id = id_of(m_write.get());
    }

    /// Under the exclusive lock: cuts a torn record off the journal.
    void cut_to(std::uint64_t size) {
        if (::ftruncate(m_write.get(), static_cast<off_t>(size)) != 0 ||
            ::fsync(m_write.get()) != 0)
            throw_io_error("cannot truncate", m_path);
    }

    template <class F>
    void read_snapshot(std::size_t& good, std::size_t& corrupt, F&& f) {
        const auto image = read_file(snapshot_path());
        if (!image) return;
        if (image->size() < magic_size ||
            std::memcmp(image->data(), snapshot_magic, magic_size) != 0)
            throw SetupError(Error::option_invalid,
                             snapshot_path() + " is not a jwtguard snapshot");
        // A snapshot is written whole and renamed into place: any tail short
        // of a record means it was damaged, and counts as corrupt.
        JournalReport report;
        const std::size_t end = for_each_record(*image, report, good, f);
        corrupt += report.corrupt_records + (end != image->size() ? 1 : 0);
    }

    /// Reads the whole records past m_read_offset.
    template <class Apply>
    void read_appended(CatchUpReport& out, Apply&& apply) {
        struct stat st {};
        if (::fstat(m_read.get(), &st) != 0) throw_io_error("cannot stat", m_path);
        const auto size = static_cast<std::uint64_t>(st.st_size);
        // Shrunk in place: not done by a writer of this file; read it all again.
        if (size < m_read_offset) m_read_offset = 0;
        if (m_read_offset < magic_size) {
            if (size < magic_size) return;  // being created
            unsigned char magic[magic_size];
            if (read_at(magic, magic_size, 0) != magic_size) return;
            check_magic(magic);
            m_read_offset = magic_size;
        }
        constexpr std::size_t batch = 1024;
        unsigned char bytes[batch * record_size];
        while (m_read_offset + record_size <= size) {
            const std::uint64_t whole = (size - m_read_offset) / record_size;
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(whole, batch)) * record_size;
            const std::size_t got = read_at(bytes, want, m_read_offset) / record_size * record_size;
            if (got == 0) return;
            for (std::size_t at = 0; at < got; at += record_size) {
                Record r;
                if (decode_record(bytes + at, r)) {
                    ++out.journal_records;
                    out.added += apply(r) ? 1 : 0;
                } else {
                    ++out.corrupt_records;
                }
            }
            m_read_offset += got;
        }
    }

    /// pread until `size` bytes or the end of the file.
    std::size_t read_at(unsigned char* out, std::size_t size, std::uint64_t offset) {
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n =
                ::pread(m_read.get(), out + done, size - done, static_cast<off_t>(offset + done));
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_io_error("cannot read", m_path);
            }
            if (n == 0) break;
            done += static_cast<std::size_t>(n);
        }
        return done;
    }

    std::string m_path;
    JournalSync m_sync;
    bool m_read_only;
    FileDescriptor m_lock;
    FileDescriptor m_write;
    FileId m_write_id;
    FileDescriptor m_read;
    FileId m_read_id;
    std::uint64_t m_read_offset = 0;
};

}  // namespace detail

/// One revocation as the journal and the Redis mirror carry it: a token's
/// fingerprint with the range its exp lies in (first == last == exp, or
/// `detail::no_exp` twice for a token without exp), or a subject's
/// fingerprint with its cut-off (first == last).
using Revocation = detail::Record;
using RevocationKind = detail::RecordKind;

}  // namespace jwtguard
