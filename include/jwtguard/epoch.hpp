// Epoch-based reclamation: how readers that take no lock and write no shared
// cache line can still follow pointers that writers replace and free.
//
// Writers publish a new object (a grown hash table, an emptied time bucket)
// with one atomic pointer store and *retire* the old one. A retired object is
// freed only once no reader can still be looking at it:
//
//   - every reader thread owns one cache-line-sized `Slot` (found once per
//     thread through a thread_local, then never shared with another live
//     thread). Entering a read section stores the current global epoch into
//     the slot; leaving stores 0. Nothing else is written, and only to the
//     thread's own line;
//   - a writer that unlinks an object advances the global epoch and tags the
//     object with the epoch before the advance;
//   - the object is freed once every slot is either 0 (idle) or holds a
//     later epoch: such a reader entered after the unlink, so it loaded the
//     new pointer.
//
// Announcing and then loading a pointer is a store followed by loads, and so
// is the writer's unlink followed by its slot scan: each side needs a full
// barrier between the two, or a reader could load the old pointer while its
// announcement is still invisible to the scan. The readers are the hot side,
// so the barrier is made asymmetric: with Linux's membarrier(2) (private
// expedited), the reader's barrier is only a compiler fence and the writer's
// scan first makes every running thread of the process execute a full
// barrier (a few microseconds, paid only when something is reclaimed). Where
// membarrier is unavailable the reader's store is sequentially consistent
// instead (one locked instruction per read section on x86-64). Readers' and
// writers' pointer loads and stores are sequentially consistent (plain moves
// on x86-64). A read section never waits for a writer.
//
// One domain serves the whole process, so a thread that validates against
// several denylists or caches owns one slot, not one per structure.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include "jwtguard/config.hpp"

namespace jwtguard::detail {

class EpochDomain {
  public:
    struct alignas(64) Slot {
        /// 0 while the owning thread is outside a read section.
        std::atomic<std::uint64_t> active{0};
        std::atomic<bool> owned{false};
        Slot* next = nullptr;
    };

    /// The process-wide domain; never destroyed (threads may outlive statics).
    [[nodiscard]] static EpochDomain& instance() noexcept {
        static EpochDomain* const domain = new EpochDomain;
        return *domain;
    }

    /// The calling thread's slot. Allocates once per thread (the first time),
    /// never afterwards; a slot left by an exited thread is reused.
    [[nodiscard]] Slot& local_slot() {
        thread_local SlotOwner owner{*this};
        return *owner.slot;
    }

    [[nodiscard]] std::uint64_t epoch() const noexcept {
        return m_epoch.load(std::memory_order_seq_cst);
    }

    /// Whether readers may announce with a plain store (membarrier works).
    [[nodiscard]] bool asymmetric() const noexcept { return m_asymmetric; }

    /// Announces `slot`'s read section at the current epoch.
    void enter(Slot& slot) const noexcept {
        if (m_asymmetric) {
            slot.active.store(epoch(), std::memory_order_relaxed);
            std::atomic_signal_fence(std::memory_order_seq_cst);
        } else {
            slot.active.store(epoch(), std::memory_order_seq_cst);
        }
    }

    /// The writer's half of the barrier, before it scans the slots.
    /// False if the barrier could not be made (then nothing may be freed:
    /// readers that announced with a plain store may not be visible yet).
    [[nodiscard]] bool heavy_barrier() const noexcept {
        if (!m_asymmetric) {
            std::atomic_thread_fence(std::memory_order_seq_cst);
            return true;
        }
        if (membarrier(membarrier_private_expedited) == 0) return true;
        // Registered at construction (the registration is kept across
        // fork(), dropped by exec()); should a call fail anyway, register
        // again and try once more before giving up on freeing.
        return membarrier(membarrier_register_private_expedited) == 0 &&
               membarrier(membarrier_private_expedited) == 0;
    }

    /// Called after unlinking an object: returns the tag to retire it with.
    [[nodiscard]] std::uint64_t advance() noexcept {
        return m_epoch.fetch_add(1, std::memory_order_seq_cst);
    }

    /// The smallest epoch any reader is in, or the maximum if none is (0 if
    /// that cannot be known now).
    [[nodiscard]] std::uint64_t oldest_active() const noexcept {
        if (!heavy_barrier()) return 0;  // frees nothing this time
        std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
        for (const Slot* s = m_slots.load(std::memory_order_acquire); s != nullptr; s = s->next) {
            const std::uint64_t e = s->active.load(std::memory_order_seq_cst);
            if (e != 0 && e < oldest) oldest = e;
        }
        return oldest;
    }

  private:
    struct SlotOwner {
        explicit SlotOwner(EpochDomain& domain) : slot(&domain.acquire_slot()) {}
        ~SlotOwner() {
            slot->active.store(0, std::memory_order_release);
            slot->owned.store(false, std::memory_order_release);
        }
        SlotOwner(const SlotOwner&) = delete;
        SlotOwner& operator=(const SlotOwner&) = delete;
        Slot* slot;
    };

    // From <linux/membarrier.h>, spelled out so that the header needs no
    // kernel headers.
    static constexpr int membarrier_private_expedited = 1 << 3;
    static constexpr int membarrier_register_private_expedited = 1 << 4;

    static int membarrier(int command) noexcept {
#ifdef SYS_membarrier
        return static_cast<int>(::syscall(SYS_membarrier, command, 0, 0));
#else
        (void)command;
        return -1;
#endif
    }

    EpochDomain()
        : m_asymmetric(JWTGUARD_EPOCH_MEMBARRIER != 0 &&
                       membarrier(membarrier_register_private_expedited) == 0) {}

    Slot& acquire_slot() {
        for (Slot* s = m_slots.load(std::memory_order_acquire); s != nullptr; s = s->next) {
            bool expected = false;
            if (!s->owned.load(std::memory_order_relaxed) &&
                s->owned.compare_exchange_strong(expected, true, std::memory_order_acq_rel))
                return *s;
        }
        // Slots are never freed: the list only grows, to the peak number of
        // threads that ever read at once.
        auto* s = new Slot;
        s->owned.store(true, std::memory_order_relaxed);
        Slot* head = m_slots.load(std::memory_order_relaxed);
        do {
            s->next = head;
        } while (!m_slots.compare_exchange_weak(head, s, std::memory_order_release,
                                                std::memory_order_relaxed));
        return *s;
    }

    // Starts at 1: 0 in a slot means idle.
    std::atomic<std::uint64_t> m_epoch{1};
    std::atomic<Slot*> m_slots{nullptr};
    const bool m_asymmetric;
};

/// A read section: while it lives, nothing retired after it began is freed.
/// Not reentrant-safe across domains of its own making, but nesting is fine:
/// an inner guard leaves the outer epoch in place.
class EpochGuard {
  public:
    EpochGuard() : EpochGuard(EpochDomain::instance().local_slot()) {}
    explicit EpochGuard(EpochDomain::Slot& slot) noexcept : m_slot(slot) {
        m_outer = slot.active.load(std::memory_order_relaxed);
        if (m_outer == 0) EpochDomain::instance().enter(slot);
    }
    ~EpochGuard() {
        if (m_outer == 0) m_slot.active.store(0, std::memory_order_release);
    }
    EpochGuard(const EpochGuard&) = delete;
    EpochGuard& operator=(const EpochGuard&) = delete;

  private:
    EpochDomain::Slot& m_slot;
    std::uint64_t m_outer;
};

/// Objects unlinked by writers, freed once no reader can see them. Owned by
/// one data structure; thread-safe.
class RetireList {
  public:
    RetireList() = default;
    RetireList(const RetireList&) = delete;
    RetireList& operator=(const RetireList&) = delete;
    ~RetireList() {
        // The owner is being destroyed: no reader may use it any more.
        for (auto& r : m_retired)
            r.destroy(r.object);
    }

    /// Hands over `object` (already unlinked) to be deleted when safe.
    template <class T>
    void retire(T* object) {
        if (object == nullptr) return;
        const std::uint64_t tag = EpochDomain::instance().advance();
        std::lock_guard lock(m_mutex);
        m_retired.push_back({object, [](void* p) { delete static_cast<T*>(p); }, tag});
        m_pending.store(m_retired.size(), std::memory_order_relaxed);
    }

    /// Whether anything waits to be freed (a hint: no lock taken).
    [[nodiscard]] bool has_pending() const noexcept {
        return m_pending.load(std::memory_order_relaxed) != 0;
    }

    /// Frees what no reader can see any more; returns how many were freed.
    std::size_t reclaim() {
        std::vector<Retired> ready;
        {
            std::lock_guard lock(m_mutex);
            if (m_retired.empty()) return 0;
            const std::uint64_t oldest = EpochDomain::instance().oldest_active();
            auto keep = m_retired.begin();
            for (auto& r : m_retired) {
                if (r.tag < oldest)
                    ready.push_back(r);
                else
                    *keep++ = r;
            }
            m_retired.erase(keep, m_retired.end());
            m_pending.store(m_retired.size(), std::memory_order_relaxed);
        }
        for (auto& r : ready)
            r.destroy(r.object);
        return ready.size();
    }

    [[nodiscard]] std::size_t pending() const {
        std::lock_guard lock(m_mutex);
        return m_retired.size();
    }

  private:
    struct Retired {
        void* object;
        void (*destroy)(void*);
        std::uint64_t tag;
    };
    mutable std::mutex m_mutex;
    std::vector<Retired> m_retired;
    std::atomic<std::size_t> m_pending{0};
};

}  // namespace jwtguard::detail
