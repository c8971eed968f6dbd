// Debian's real nginx with the module, for the tests and the load script's
// revocation figure: a temporary prefix, loopback ports, `daemon off`,
// `worker_processes 2`, and a plain HTTP/1.0-style client (one connection
// per request, so that requests spread over both workers).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "loopback.hpp"

namespace jwtguard::test {

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    [[nodiscard]] std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

/// One request on a fresh connection (Connection: close).
inline HttpResponse http(int port, const std::string& method, const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         const std::string& body = {}) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return {};  // status 0: nothing listens
    }
    std::string request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n";
    for (const auto& [name, value] : headers)
        request += name + ": " + value + "\r\n";
    if (!body.empty() || method == "POST")
        request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    request += "Connection: close\r\n\r\n" + body;
    for (std::size_t sent = 0; sent < request.size();) {
        const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
    }
    std::string raw;
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        raw.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    HttpResponse response;
    const std::size_t end = raw.find("\r\n\r\n");
    if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || end == std::string::npos) return response;
    response.status = std::stoi(raw.substr(9, 3));
    std::istringstream lines(raw.substr(0, end));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (char& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        response.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    response.body = raw.substr(end + 4);
    return response;
}

/// nginx with the module, in its own temporary prefix.
class Nginx {
  public:
    Nginx() {
        char dir[] = "/tmp/jwtguard-nginx-XXXXXX";
        if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
        m_prefix = dir;
        m_prefix += '/';
    }
    ~Nginx() {
        stop();
        std::error_code ignored;
        std::filesystem::remove_all(m_prefix, ignored);
    }
    Nginx(const Nginx&) = delete;
    Nginx& operator=(const Nginx&) = delete;

    [[nodiscard]] const std::string& prefix() const noexcept { return m_prefix; }
    [[nodiscard]] std::string path(const std::string& name) const { return m_prefix + name; }

    /// Writes a file in the prefix, atomically (a temporary renamed over it,
    /// as an operator rotating keys should).
    void write(const std::string& name, const std::string& content) const {
        const std::string temporary = path(name) + ".tmp";
        std::ofstream(temporary, std::ios::binary) << content;
        std::filesystem::rename(temporary, path(name));
    }

    /// A whole nginx.conf around `http_body` (the inside of http {}).
    [[nodiscard]] std::string configuration(const std::string& http_body) const {
        std::string conf = "load_module " JWTGUARD_NGINX_MODULE ";\n";
        conf += "daemon off;\nmaster_process on;\nworker_processes 2;\n";
        // Workers of a root master would otherwise run as nobody, who may
        // not enter the private prefix.
        if (::geteuid() == 0) conf += "user root;\n";
        conf += "error_log " + path("error.log") + " info;\n";
        conf += "pid " + path("nginx.pid") + ";\n";
        conf += "events { worker_connections 1024; }\n";
        conf += "http {\n  access_log off;\n";
        for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
            conf += std::string("  ") + temp + "_temp_path " + path(temp) + ";\n";
        return conf + http_body + "\n}\n";
    }

    /// `nginx -t` on a configuration: its exit status and what it printed.
    [[nodiscard]] std::pair<int, std::string> check(const std::string& http_body,
                                                    const std::string& name = "check.conf") const {
        write(name, configuration(http_body));
        const std::string command =
            std::string(JWTGUARD_NGINX) + " -t -q -p " + m_prefix + " -c " + path(name) + " 2>&1";
        FILE* pipe = ::popen(command.c_str(), "r");
        std::string output;
        char buffer[4096];
        while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
            output.append(buffer, n);
        const int status = ::pclose(pipe);
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
    }

    /// Starts nginx on `http_body`; returns once `port` answers.
    void start(const std::string& http_body, int port) {
        write("nginx.conf", configuration(http_body));
        m_pid = ::fork();
        if (m_pid < 0) throw std::runtime_error("fork failed");
        if (m_pid == 0) {
            const std::string conf = path("nginx.conf");
            ::execl(JWTGUARD_NGINX, JWTGUARD_NGINX, "-p", m_prefix.c_str(), "-c", conf.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (http(port, "GET", "/__ready").status == 0) {
            int status = 0;
            if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                throw std::runtime_error("nginx exited at start: " + error_log());
            }
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("nginx did not answer within 10 s: " + error_log());
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    /// `nginx -s reload`: a new configuration cycle and new workers. Returns
    /// once the workers that served before have exited.
    void reload() {
        const std::size_t started = count_in_log("start worker process");
        const std::size_t refused = count_in_log("[emerg]");
        const std::size_t exited = count_in_log("exited with code");
        ::kill(m_pid, SIGHUP);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (count_in_log("start worker process") < started + 2 ||
               count_in_log("exited with code") < exited + 2) {
            if (count_in_log("[emerg]") > refused)
                throw std::runtime_error("nginx refused the new configuration: " + error_log());
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("nginx did not reload within 10 s: " + error_log());
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    void stop() {
        if (m_pid <= 0) return;
        ::kill(m_pid, SIGTERM);
        int status = 0;
        ::waitpid(m_pid, &status, 0);
        m_pid = -1;
    }

    [[nodiscard]] std::string error_log() const {
        std::ifstream in(path("error.log"));
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    }
    [[nodiscard]] std::size_t count_in_log(const std::string& what) const {
        const std::string log = error_log();
        std::size_t n = 0;
        for (std::size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1))
            ++n;
        return n;
    }

  private:
    std::string m_prefix;
    pid_t m_pid = -1;
};

}  // namespace jwtguard::test
