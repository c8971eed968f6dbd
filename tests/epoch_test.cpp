#include <jwtguard/epoch.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

namespace jwtguard::detail {
namespace {

struct Counted {
    explicit Counted(std::atomic<int>& d) : destroyed(d) {}
    ~Counted() { ++destroyed; }
    std::atomic<int>& destroyed;
};

TEST(Epoch, AnnouncesAsConfigured) {
    // Built with JWTGUARD_EPOCH_MEMBARRIER=0 (the fallback test binary), the
    // locked store is used; otherwise membarrier when the kernel has it.
    if (JWTGUARD_EPOCH_MEMBARRIER == 0) {
        EXPECT_FALSE(EpochDomain::instance().asymmetric());
    }
    std::printf("epoch announcement: %s\n",
                EpochDomain::instance().asymmetric() ? "membarrier" : "locked store");
}

TEST(Epoch, RetiredObjectIsFreedWhenNoReaderIsInside) {
    std::atomic<int> destroyed{0};
    RetireList list;
    list.retire(new Counted(destroyed));
    EXPECT_EQ(list.reclaim(), 1u);
    EXPECT_EQ(destroyed, 1);
    EXPECT_EQ(list.pending(), 0u);
}

TEST(Epoch, ReaderInsideKeepsWhatWasRetiredAfterItEntered) {
    std::atomic<int> destroyed{0};
    RetireList list;
    std::atomic<bool> inside{false}, release{false};
    std::thread reader([&] {
        EpochGuard guard;
        inside = true;
        while (!release)
            std::this_thread::yield();
    });
    while (!inside)
        std::this_thread::yield();
    list.retire(new Counted(destroyed));
    EXPECT_EQ(list.reclaim(), 0u);
    EXPECT_EQ(destroyed, 0);
    release = true;
    reader.join();
    EXPECT_EQ(list.reclaim(), 1u);
    EXPECT_EQ(destroyed, 1);
}

TEST(Epoch, ReaderEnteringAfterTheRetireDoesNotHoldIt) {
    std::atomic<int> destroyed{0};
    RetireList list;
    list.retire(new Counted(destroyed));
    EpochGuard guard;  // entered after the object was unlinked and retired
    EXPECT_EQ(list.reclaim(), 1u);
    EXPECT_EQ(destroyed, 1);
}

TEST(Epoch, NestedGuardsKeepTheOuterEpoch) {
    std::atomic<int> destroyed{0};
    RetireList list;
    {
        EpochGuard outer;
        list.retire(new Counted(destroyed));
        { EpochGuard inner; }
        // Leaving the inner guard must not end the outer read section.
        EXPECT_EQ(list.reclaim(), 0u);
    }
    EXPECT_EQ(list.reclaim(), 1u);
}

TEST(Epoch, SlotsOfExitedThreadsAreReused) {
    EpochDomain::Slot* first = nullptr;
    std::thread([&] { first = &EpochDomain::instance().local_slot(); }).join();
    EpochDomain::Slot* second = nullptr;
    std::thread([&] { second = &EpochDomain::instance().local_slot(); }).join();
    EXPECT_EQ(first, second);
}

TEST(Epoch, AForkedChildStillReclaims) {
    // A child of fork() inherits the domain (and, on Linux, the membarrier
    // registration): its writers must still be able to free.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        std::atomic<int> destroyed{0};
        RetireList list;
        list.retire(new Counted(destroyed));
        ::_exit(list.reclaim() == 1 && destroyed == 1 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Epoch, ListDestructorFreesWhatIsPending) {
    std::atomic<int> destroyed{0};
    {
        RetireList list;
        EpochGuard guard;
        list.retire(new Counted(destroyed));
    }
    EXPECT_EQ(destroyed, 1);
}

}  // namespace
}  // namespace jwtguard::detail
