// Reading the Wycheproof vectors in tests/fixtures/wycheproof (a missing
// file fails the test that reads it: every clone has them).
#pragma once

#include <jwtguard/config.hpp>  // before rapidjson: JWTGUARD_RAPIDJSON_SIMD
#include <jwtguard/json.hpp>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

#include "test_tokens.hpp"

namespace jwtguard::test {

/// One Wycheproof file, parsed; fails the calling test if it is absent.
inline rapidjson::Document wycheproof(const char* name) {
    const std::filesystem::path file = std::filesystem::path(JWTGUARD_WYCHEPROOF_DIR) / name;
    rapidjson::Document doc;
    EXPECT_TRUE(std::filesystem::exists(file)) << "Wycheproof vectors not found at " << file;
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    // Padded: rapidjson's SIMD scanning reads whole 16-byte blocks.
    jwtguard::detail::JsonBuffer padded(text.str());
    EXPECT_FALSE(doc.Parse(padded.data()).HasParseError()) << name;
    if (!doc.IsObject() || !doc.HasMember("testGroups")) doc.Parse(R"({"testGroups":[]})");
    return doc;
}

/// A JSON value as compact text (a group's publicKeyJwk).
inline std::string json_text(const rapidjson::Value& value) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    value.Accept(writer);
    return std::string(buffer.GetString(), buffer.GetSize());
}

/// What a signature-verification file holds, counted while `verify(group,
/// message, signature)` is matched against every verdict.
struct VerdictCount {
    int valid = 0;
    int invalid = 0;
    int acceptable = 0;  ///< gone the way `acceptable_verdict` says
    /// How many cases carry each flag, whatever their verdict.
    std::map<std::string, int, std::less<>> flags;
};

/// Matches every verdict of file `name`. An `acceptable` case (the files
/// allow either answer) must go as `acceptable_verdict` says, which the
/// caller writes down.
inline VerdictCount match_verdicts(
    const char* name,
    const std::function<bool(const rapidjson::Value& group, const std::string& message,
                             const std::string& signature)>& verify,
    bool acceptable_verdict = false) {
    const rapidjson::Document doc = wycheproof(name);
    VerdictCount count;
    for (const auto& group : doc["testGroups"].GetArray()) {
        for (const auto& test : group["tests"].GetArray()) {
            const std::string_view result = test["result"].GetString();
            bool expected = result == "valid";
            for (const auto& flag : test["flags"].GetArray())
                ++count.flags[flag.GetString()];
            if (result == "acceptable") {
                expected = acceptable_verdict;
                ++count.acceptable;
            } else {
                (expected ? count.valid : count.invalid)++;
            }
            EXPECT_EQ(
                verify(group, from_hex(test["msg"].GetString()), from_hex(test["sig"].GetString())),
                expected)
                << name << " tcId " << test["tcId"].GetInt() << " " << test["comment"].GetString();
        }
    }
    return count;
}

}  // namespace jwtguard::test
