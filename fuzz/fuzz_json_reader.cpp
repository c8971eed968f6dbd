// The request path's JSON reader against rapidjson's Reader (the reference,
// in place, numbers as strings): on every input without a raw control byte,
// the same verdict, the same events with the same unescaped text in the
// same order, and the same end position; then once more with a handler that
// stops half-way, which both must honour at the same event. Texts without
// a backslash or a byte below 0x20 are read a second time in the reader's
// plain mode (only quotes end strings), and a third by read_plain_json over
// their quote index (json.hpp's path for them), with the same oracle; that
// walk refuses nesting deeper than max_json_depth, where it must have
// reported the same events up to its refusal.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"  // first: rapidjson built as the library builds it

#include <rapidjson/reader.h>

#include "jwtguard/json.hpp"
#include "jwtguard/json_reader.hpp"

namespace {

using rapidjson::SizeType;

/// Writes every event as kind, length, ':' and text; refuses the event
/// numbered `stop_at` (counting from 1; 0: none).
struct Recorder {
    using Ch = char;
    std::string events;
    std::size_t count = 0;
    std::size_t stop_at = 0;
    int depth = 0, max_depth = 0;  // of the arrays and objects opened

    bool put(char kind, std::string_view text = {}) {
        events += kind;
        events += std::to_string(text.size());
        events += ':';
        events.append(text);
        return ++count != stop_at;
    }
    bool Null() { return put('n'); }
    bool Bool(bool b) { return put(b ? 't' : 'f'); }
    // rapidjson calls these only without kParseNumbersAsStringsFlag.
    bool Int(int) { return put('X'); }
    bool Uint(unsigned) { return put('X'); }
    bool Int64(std::int64_t) { return put('X'); }
    bool Uint64(std::uint64_t) { return put('X'); }
    bool Double(double) { return put('X'); }
    bool RawNumber(const Ch* s, SizeType n, bool) { return put('#', {s, n}); }
    bool String(const Ch* s, SizeType n, bool) { return put('s', {s, n}); }
    bool Key(const Ch* s, SizeType n, bool) { return put('k', {s, n}); }
    bool StartObject() { return open('{'); }
    bool EndObject(SizeType n) { return --depth, put('}', std::to_string(n)); }
    bool StartArray() { return open('['); }
    bool EndArray(SizeType n) { return --depth, put(']', std::to_string(n)); }
    bool open(char kind) {
        max_depth = std::max(max_depth, ++depth);
        return put(kind);
    }
};

struct Outcome {
    bool ok;
    std::size_t end;  // where reading ended, when ok
    Recorder recorder;
};

Outcome with_reference(std::string_view json, std::size_t stop_at) {
    jwtguard::detail::JsonBuffer buffer(json);
    Outcome out{false, 0, {}};
    out.recorder.stop_at = stop_at;
    rapidjson::InsituStringStream stream(buffer.data());
    rapidjson::Reader reader;
    constexpr unsigned flags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;
    out.ok = !reader.Parse<flags>(stream, out.recorder).IsError();
    out.end = stream.Tell();
    return out;
}

Outcome with_library(std::string_view json, std::size_t stop_at, bool plain) {
    jwtguard::detail::JsonBuffer buffer(json);
    Outcome out{false, 0, {}};
    out.recorder.stop_at = stop_at;
    const std::ptrdiff_t read = jwtguard::detail::read_json(buffer.data(), out.recorder, plain);
    out.ok = read >= 0;
    out.end = out.ok ? static_cast<std::size_t>(read) : 0;
    return out;
}

#if JWTGUARD_AVX2
Outcome with_quote_index(std::string_view json, std::size_t stop_at) {
    jwtguard::detail::JsonBuffer buffer(json);
    Outcome out{false, 0, {}};
    out.recorder.stop_at = stop_at;
    jwtguard::detail::QuoteBits quotes;
    FUZZ_CHECK(jwtguard::detail::quote_bits(buffer.data(), json.size(), quotes) !=
               jwtguard::detail::QuoteScan::not_plain);
    const std::ptrdiff_t read =
        jwtguard::detail::read_plain_json(buffer.data(), quotes, out.recorder);
    out.ok = read >= 0;
    out.end = out.ok ? static_cast<std::size_t>(read) : 0;
    return out;
}
#endif

/// No backslash and no byte below 0x20 (the NUL included): what
/// json_text_fault calls plain, where the reader may look only for quotes.
bool is_plain(std::string_view json) {
    for (const char c : json)
        if (c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
    return true;
}

void compare(std::string_view json, std::size_t stop_at) {
    const Outcome expected = with_reference(json, stop_at);
    for (const bool plain : {false, true}) {
        if (plain && !is_plain(json)) break;
        const Outcome got = with_library(json, stop_at, plain);
        FUZZ_CHECK(got.ok == expected.ok);
        FUZZ_CHECK(got.recorder.events == expected.recorder.events);
        if (got.ok) FUZZ_CHECK(got.end == expected.end);
    }
#if JWTGUARD_AVX2
    if (is_plain(json) && json.size() <= jwtguard::detail::plain_json_max &&
        jwtguard::detail::cpu_has_avx2_pclmul()) {
        const Outcome got = with_quote_index(json, stop_at);
        if (expected.recorder.max_depth > jwtguard::max_json_depth) {
            // Refused at the first level too deep, after the same events.
            FUZZ_CHECK(!got.ok);
            FUZZ_CHECK(expected.recorder.events.starts_with(got.recorder.events));
            FUZZ_CHECK(got.recorder.max_depth == jwtguard::max_json_depth + 1 ||
                       got.recorder.count == stop_at);
        } else {
            FUZZ_CHECK(got.ok == expected.ok);
            FUZZ_CHECK(got.recorder.events == expected.recorder.events);
            if (got.ok) FUZZ_CHECK(got.end == expected.end);
        }
    }
#endif
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > jwtguard::max_token_size_limit) return 0;  // no header or payload is larger
    const std::string_view json(reinterpret_cast<const char*>(data), size);
    // Raw control bytes are refused before any reader runs (json.hpp), and
    // rapidjson's SIMD scan lets some through inside strings. A NUL ends
    // the input for both.
    for (const char c : json)
        if (c != '\0' && c != '\t' && c != '\n' && c != '\r' &&
            static_cast<unsigned char>(c) < 0x20)
            return 0;
    compare(json, 0);
    const std::size_t events = with_reference(json, 0).recorder.count;
    if (events > 1) compare(json, events / 2 + 1);
    return 0;
}
