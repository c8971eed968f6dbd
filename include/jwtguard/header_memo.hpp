// A memo of the last verified token header, one per thread.
//
// An issuer's tokens share one header per key ({"alg":..,"typ":..,"kid":..}),
// so nearly every token a server sees carries a header segment it has just
// seen. Decoding and parsing a header are a pure function of the segment's
// bytes: a thread that keeps the last segment it verified, with the bytes
// decoding and in-place parsing left in the Claims scratch and the Header's
// views into them, can give the next token with the very same segment
// exactly what the full path would, for a comparison and a copy (~10 ns
// instead of ~55). Everything that follows the header (alg checks, key by
// kid, signature, payload) runs as always.
//
// Only the header of a token whose signature held is remembered: a forged
// token is parsed afresh and cannot evict the good header. One per thread:
// nothing is shared, locked or allocated (a few hundred bytes of static
// thread-local storage, constant-initialized). Headers longer than
// max_segment characters are not remembered (they are parsed every time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "jwtguard/base64url.hpp"
#include "jwtguard/claims.hpp"

namespace jwtguard::detail {

class HeaderMemo {
  public:
    /// Longest header segment remembered (base64url characters).
    static constexpr std::size_t max_segment = 160;
    static constexpr std::size_t max_decoded = base64url_decoded_size(max_segment);

    /// The calling thread's memo.
    [[nodiscard]] static HeaderMemo& local() noexcept {
        static thread_local HeaderMemo memo;
        return memo;
    }

    /// If `segment` is the remembered one: writes its decoded image (the
    /// decoded size plus the NUL after it) to `scratch`, sets `decoded_size`
    /// and `header` (views into `scratch`) as parsing would, and returns true.
    [[nodiscard]] bool recall(std::string_view segment, char* scratch, std::size_t& decoded_size,
                              Header& header) const noexcept {
        if (m_segment_size == 0 || segment.size() != m_segment_size ||
            std::memcmp(segment.data(), m_segment, m_segment_size) != 0)
            return false;
        std::memcpy(scratch, m_image, m_image_size + 1);
        decoded_size = m_image_size;
        header.alg = m_alg.in(scratch);
        header.kid = m_kid.in(scratch);
        header.typ = m_typ.in(scratch);
        header.cty = m_cty.in(scratch);
        return true;
    }

    /// Remembers `segment`, whose decoding and parsing left `decoded_size`
    /// bytes and a NUL at `scratch` and `header`'s views into them. Call only
    /// once the token's signature holds.
    void remember(std::string_view segment, const char* scratch, std::size_t decoded_size,
                  const Header& header) noexcept {
        m_segment_size = 0;  // empty while being rewritten
        if (segment.empty() || segment.size() > max_segment || decoded_size > max_decoded) return;
        const auto in_image = [&](const std::optional<std::string_view>& v) {
            return !v || (v->data() >= scratch && v->data() + v->size() <= scratch + decoded_size);
        };
        if (!in_image(header.alg) || !in_image(header.kid) || !in_image(header.typ) ||
            !in_image(header.cty))
            return;
        std::memcpy(m_image, scratch, decoded_size + 1);
        m_image_size = decoded_size;
        m_alg = View(header.alg, scratch);
        m_kid = View(header.kid, scratch);
        m_typ = View(header.typ, scratch);
        m_cty = View(header.cty, scratch);
        std::memcpy(m_segment, segment.data(), segment.size());
        m_segment_size = segment.size();
    }

    /// Forgets the remembered header (tests and benchmarks).
    void clear() noexcept { m_segment_size = 0; }

  private:
    /// A Header view as an offset into the image.
    struct View {
        constexpr View() = default;
        View(const std::optional<std::string_view>& v, const char* base) noexcept
            : offset(v ? static_cast<std::uint16_t>(v->data() - base) : 0),
              size(v ? static_cast<std::uint16_t>(v->size()) : 0),
              present(v.has_value()) {}
        [[nodiscard]] std::optional<std::string_view> in(const char* base) const noexcept {
            if (!present) return std::nullopt;
            return std::string_view(base + offset, size);
        }
        std::uint16_t offset = 0;
        std::uint16_t size = 0;
        bool present = false;
    };

    std::size_t m_segment_size = 0;  // 0: nothing remembered
    std::size_t m_image_size = 0;
    View m_alg, m_kid, m_typ, m_cty;
    char m_segment[max_segment] = {};
    char m_image[max_decoded + 1] = {};
};

}  // namespace jwtguard::detail
