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
// The slot store and the readers' pointer loads are sequentially consistent,
// as are the writers' unlinking stores and slot scans (a store-load pattern
// needs that on both sides). On x86-64 this costs the reader one locked
// exchange per read section and plain loads otherwise. A read section must
// not wait for a writer (it never does here: readers only probe memory).
//
// One domain serves the whole process, so a thread that validates against
// several denylists or caches owns one slot, not one per structure.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

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

    /// Called after unlinking an object: returns the tag to retire it with.
    [[nodiscard]] std::uint64_t advance() noexcept {
        return m_epoch.fetch_add(1, std::memory_order_seq_cst);
    }

    /// True when nothing retired with `tag` can still be seen by a reader.
    [[nodiscard]] bool is_safe(std::uint64_t tag) const noexcept { return tag < oldest_active(); }

    /// The smallest epoch any reader is in, or the maximum if none is.
    [[nodiscard]] std::uint64_t oldest_active() const noexcept {
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

    EpochDomain() = default;

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
};

/// A read section: while it lives, nothing retired after it began is freed.
/// Not reentrant-safe across domains of its own making, but nesting is fine:
/// an inner guard leaves the outer epoch in place.
class EpochGuard {
  public:
    EpochGuard() : EpochGuard(EpochDomain::instance().local_slot()) {}
    explicit EpochGuard(EpochDomain::Slot& slot) noexcept : m_slot(slot) {
        m_outer = slot.active.load(std::memory_order_relaxed);
        if (m_outer == 0)
            slot.active.store(EpochDomain::instance().epoch(), std::memory_order_seq_cst);
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
};

}  // namespace jwtguard::detail
