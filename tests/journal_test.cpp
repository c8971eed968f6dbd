// One journal shared by several denylists (each with its own descriptors and
// lock, as separate processes have; one test forks a real second process):
// following appends, compactions by others, records caught mid-write, torn
// tails, and writers whose journal another process replaced.
#include <jwtguard/denylist.hpp>
#include <jwtguard/journal.hpp>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_tokens.hpp"

namespace jwtguard {
namespace {

using test::now;

using test::id;

class SharedJournal : public ::testing::Test {
  protected:
    void SetUp() override {
        dir = std::filesystem::temp_directory_path() /
              (id("jwtguard-shared-journal-", ::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        options.bucket_width = 60;
        options.horizon = 3600;
        options.journal_path = (dir / "revoked.journal").string();
        options.journal_sync = JournalSync::none;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    [[nodiscard]] std::uintmax_t journal_size() const {
        return std::filesystem::file_size(options.journal_path);
    }
    /// Appends raw bytes to the journal, as a writer in the middle of a
    /// record leaves it.
    void append_raw(const unsigned char* bytes, std::size_t size) const {
        std::ofstream(options.journal_path, std::ios::binary | std::ios::app)
            .write(reinterpret_cast<const char*>(bytes), static_cast<std::streamsize>(size));
    }
    [[nodiscard]] DenylistOptions read_only() const {
        DenylistOptions o = options;
        o.journal_read_only = true;
        return o;
    }

    std::filesystem::path dir;
    DenylistOptions options;
};

TEST_F(SharedJournal, AFollowerAppliesWhatAnotherWriterAppended) {
    Denylist writer(options, now);
    Denylist follower(read_only(), now);
    writer.revoke_jti("a", now + 100);
    writer.revoke_subject("alice", now - 5);
    EXPECT_FALSE(follower.is_revoked("a", now + 100));
    const CatchUpReport report = follower.catch_up();
    EXPECT_EQ(report.journal_records, 2u);
    EXPECT_EQ(report.added, 2u);
    EXPECT_FALSE(report.reloaded);
    EXPECT_TRUE(follower.is_revoked("a", now + 100));
    EXPECT_EQ(follower.subject_cutoff("alice"), now - 5);
    // Nothing new: nothing read.
    EXPECT_EQ(follower.catch_up().journal_records, 0u);
}

TEST_F(SharedJournal, AWriterDoesNotReadBackWhatItWrote) {
    Denylist a(options, now);
    Denylist b(options, now);
    a.revoke_jti("a", now + 100);
    EXPECT_EQ(a.catch_up().journal_records, 0u);
    // b's record follows a's, which b had not read: b reads both, and only
    // a's adds anything.
    b.revoke_jti("b", now + 100);
    const CatchUpReport report = b.catch_up();
    EXPECT_EQ(report.journal_records, 2u);
    EXPECT_EQ(report.added, 1u);
    EXPECT_EQ(a.catch_up().journal_records, 1u);
    EXPECT_TRUE(a.is_revoked("b", now + 100));
    EXPECT_TRUE(b.is_revoked("a", now + 100));
}

TEST_F(SharedJournal, AFollowerSeesEverythingAcrossACompactionByAnother) {
    Denylist writer(options, now);
    Denylist follower(read_only(), now);
    writer.revoke_jti("read-before", now + 100);
    ASSERT_EQ(follower.catch_up().added, 1u);
    writer.revoke_jti("unread", now + 100);  // only in the old journal, then the snapshot
    writer.compact();
    writer.revoke_jti("after", now + 100);  // in the new journal
    const CatchUpReport report = follower.catch_up();
    EXPECT_TRUE(report.reloaded);
    EXPECT_EQ(report.snapshot_records, 2u);
    EXPECT_EQ(report.journal_records, 1u);
    EXPECT_EQ(report.added, 2u);  // "read-before" was held already
    for (const char* jti : {"read-before", "unread", "after"})
        EXPECT_TRUE(follower.is_revoked(jti, now + 100)) << jti;
}

TEST_F(SharedJournal, ACompactionKeepsWhatOthersAppendedSinceItLooked) {
    Denylist compactor(options, now);
    Denylist other(options, now);
    other.revoke_jti("by-other", now + 100);  // compactor has not read it
    compactor.compact();
    EXPECT_TRUE(compactor.is_revoked("by-other", now + 100));
    const Denylist fresh(read_only(), now);
    EXPECT_EQ(fresh.journal_report().snapshot_records, 1u);
    EXPECT_TRUE(fresh.is_revoked("by-other", now + 100));
}

TEST_F(SharedJournal, AWriterWhoseJournalWasReplacedWritesToTheNewOne) {
    Denylist a(options, now);
    Denylist b(options, now);
    a.revoke_jti("before", now + 100);
    b.compact();  // a's descriptor now names the replaced journal
    a.revoke_jti("after", now + 100);
    EXPECT_EQ(journal_size(), detail::magic_size + detail::record_size);
    const Denylist fresh(read_only(), now);
    EXPECT_TRUE(fresh.is_revoked("before", now + 100));
    EXPECT_TRUE(fresh.is_revoked("after", now + 100));
    EXPECT_EQ(b.catch_up().journal_records, 1u);
    EXPECT_TRUE(b.is_revoked("after", now + 100));
}

TEST_F(SharedJournal, ARecordCaughtMidWriteIsReadWhenWhole) {
    Denylist follower(options, now);
    unsigned char record[detail::record_size];
    detail::encode_record(Denylist::jti_revocation("slow", now + 100), record);
    append_raw(record, 20);
    EXPECT_EQ(follower.catch_up().journal_records, 0u);
    EXPECT_FALSE(follower.is_revoked("slow", now + 100));
    append_raw(record + 20, sizeof record - 20);
    const CatchUpReport report = follower.catch_up();
    EXPECT_EQ(report.journal_records, 1u);
    EXPECT_EQ(report.corrupt_records, 0u);
    EXPECT_TRUE(follower.is_revoked("slow", now + 100));
}

TEST_F(SharedJournal, ACorruptRecordIsSkippedAndCountedAndTheNextRead) {
    Denylist follower(options, now);
    unsigned char record[detail::record_size];
    detail::encode_record(Denylist::jti_revocation("bad", now + 100), record);
    record[30] ^= 1;
    append_raw(record, sizeof record);
    detail::encode_record(Denylist::jti_revocation("good", now + 100), record);
    append_raw(record, sizeof record);
    const CatchUpReport report = follower.catch_up();
    EXPECT_EQ(report.corrupt_records, 1u);
    EXPECT_EQ(report.journal_records, 1u);
    EXPECT_TRUE(follower.is_revoked("good", now + 100));
}

TEST_F(SharedJournal, ATornTailIsCutBeforeTheNextRecordSoFollowersStayAligned) {
    Denylist writer(options, now);
    Denylist follower(read_only(), now);
    writer.revoke_jti("a", now + 100);
    const unsigned char junk[5] = {1, 2, 3, 4, 5};
    append_raw(junk, sizeof junk);  // a writer died mid-record
    writer.revoke_jti("b", now + 100);
    EXPECT_EQ(journal_size(), detail::magic_size + 2 * detail::record_size);
    const CatchUpReport report = follower.catch_up();
    EXPECT_EQ(report.journal_records, 2u);
    EXPECT_EQ(report.corrupt_records, 0u);
    EXPECT_TRUE(follower.is_revoked("b", now + 100));
}

TEST_F(SharedJournal, ARemovedJournalIsWaitedForAndANewOneRead) {
    Denylist follower(options, now);
    std::filesystem::remove(options.journal_path);
    EXPECT_EQ(follower.catch_up().journal_records, 0u);
    Denylist writer(options, now);  // creates a new journal
    writer.revoke_jti("new", now + 100);
    const CatchUpReport report = follower.catch_up();
    EXPECT_TRUE(report.reloaded);
    EXPECT_TRUE(follower.is_revoked("new", now + 100));
}

TEST_F(SharedJournal, AFileThatIsNotAJournalIsRefused) {
    Denylist follower(options, now);
    std::filesystem::remove(options.journal_path);
    std::ofstream(options.journal_path) << "not a journal at all, no";
    try {
        (void)follower.catch_up();
        FAIL() << "no exception";
    } catch (const SetupError& e) {
        EXPECT_EQ(e.code(), Error::option_invalid);
    }
}

TEST_F(SharedJournal, CatchUpNeedsAJournal) {
    Denylist memory_only(DenylistOptions{}, now);
    EXPECT_THROW((void)memory_only.catch_up(), SetupError);
}

// A real second process revokes and compacts while this one follows; every
// revocation is in force here at the end, whatever the interleaving.
TEST_F(SharedJournal, AnotherProcessRevokingAndCompactingIsFollowedCompletely) {
    constexpr int revocations = 600;
    Denylist follower(options, now);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int status = 0;
        try {
            Denylist writer(options, now);
            for (int i = 0; i < revocations; ++i) {
                writer.revoke_jti(id("p", i), now + 100 + i % 300);
                if (i % 97 == 96) writer.compact();
            }
        } catch (...) {
            status = 1;
        }
        ::_exit(status);
    }
    int status = 0;
    std::size_t reloads = 0;
    for (;;) {
        const bool exited = ::waitpid(child, &status, WNOHANG) == child;
        reloads += follower.catch_up().reloaded ? 1 : 0;
        if (exited) break;
    }
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    (void)follower.catch_up();
    for (int i = 0; i < revocations; ++i)
        ASSERT_TRUE(follower.is_revoked(id("p", i), now + 100 + i % 300)) << i;
    EXPECT_EQ(follower.size(), static_cast<std::size_t>(revocations));
    EXPECT_GE(reloads, 1u);  // the compactions were seen
}

}  // namespace
}  // namespace jwtguard
