#include "cli/supervisor.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

extern char** environ;

namespace roost::cli {
namespace {

volatile sig_atomic_t g_stop_signal = 0;
void on_signal(int sig) { g_stop_signal = sig; }

struct Child {
    std::string name;
    std::string path;
    pid_t pid = 0;
    std::chrono::steady_clock::time_point started{};
    std::chrono::steady_clock::time_point restart_at{};
    std::chrono::seconds backoff{1};
    bool stopped = false;  // exited after a stop signal
};

std::string self_dir(const std::string& argv0) {
    char buf[PATH_MAX];
    auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    std::string p = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : argv0;
    auto slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}

pid_t spawn(const Child& c, const std::string& config_path) {
    std::vector<std::string> args = {c.path, "--config", config_path};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, c.path.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return 0;
    return pid;
}

}  // namespace

int supervise(const std::string& argv0, const std::string& config_path, const Config& config) {
    auto dir = self_dir(argv0);
    std::vector<Child> children;
    for (const char* name : {"smtpd", "imapd", "pop3d", "admin"}) {
        // Installed layout: all binaries in one directory; build tree: <build>/<daemon>/roost-<name>.
        std::vector<std::string> candidates = {dir + "/roost-" + name, dir + "/../" + std::string(name == std::string("admin") ? "admin-ui" : name) + "/roost-" + name};
        for (auto& c : candidates)
            if (::access(c.c_str(), X_OK) == 0) {
                children.push_back({name, c});
                break;
            }
        if (children.empty() || children.back().name != name)
            std::cerr << "roost up: roost-" << name << " not found next to " << dir << "; not started\n";
    }
    if (children.empty()) {
        std::cerr << "roost up: no daemons found\n";
        return 1;
    }
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);

    auto now = std::chrono::steady_clock::now;
    for (auto& c : children) {
        c.pid = spawn(c, config_path);
        c.started = now();
        std::cerr << "roost up: started roost-" << c.name << " (pid " << c.pid << ")\n";
    }
    bool stopping = false;
    for (;;) {
        if (g_stop_signal && !stopping) {
            stopping = true;
            std::cerr << "roost up: stopping (signal " << g_stop_signal << ")\n";
            for (auto& c : children)
                if (c.pid > 0) ::kill(c.pid, SIGTERM);
        }
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (auto& c : children) {
                if (c.pid != pid) continue;
                c.pid = 0;
                if (stopping) {
                    c.stopped = true;
                    break;
                }
                // A daemon that ran for a minute was healthy: start its back-off over.
                if (now() - c.started > std::chrono::seconds(60)) c.backoff = std::chrono::seconds(1);
                std::cerr << "roost up: roost-" << c.name << " exited ("
                          << (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                                : "signal " + std::to_string(WTERMSIG(status)))
                          << "); restarting in " << c.backoff.count() << "s\n";
                c.restart_at = now() + c.backoff;
                c.backoff = std::min(c.backoff * 2, std::chrono::seconds(60));
            }
        }
        if (stopping) {
            bool all = true;
            for (auto& c : children) all = all && c.pid == 0;
            if (all) {
                std::cerr << "roost up: all daemons stopped\n";
                return 0;
            }
        } else {
            for (auto& c : children)
                if (c.pid == 0 && now() >= c.restart_at) {
                    c.pid = spawn(c, config_path);
                    c.started = now();
                    std::cerr << "roost up: restarted roost-" << c.name << " (pid " << c.pid << ")\n";
                }
        }
        if (pid <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    (void)config;
}

}  // namespace roost::cli
