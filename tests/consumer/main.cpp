// Signs and validates one token through the installed or embedded library.
#include <jwtguard/jwtguard.hpp>

#include <cstdio>
#include <memory>

int main() {
    const jwtguard::Hs256Key key("0123456789abcdef0123456789abcdef:consumer");
    const std::string token = jwtguard::sign(key, R"({"sub":"alice","exp":2000000000})");
    const jwtguard::Validator validator(key);
    auto claims = std::make_unique<jwtguard::Claims>();
    const jwtguard::Error e = validator.validate(token, 1900000000, *claims);
    std::printf("%.*s\n", static_cast<int>(jwtguard::to_string(e).size()),
                jwtguard::to_string(e).data());
    return e == jwtguard::Error::ok ? 0 : 1;
}
