// roost — the operator's command line: supervise the daemons (`roost up`) and manage domains, users,
// aliases and mailboxes directly in the store. Errors go to stderr with a non-zero exit and name the
// offending value.
#include <fcntl.h>
#include <strings.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/supervisor.hpp"
#include "common/auth/password.hpp"
#include "common/core/config.hpp"
#include "common/daemon/daemon.hpp"
#include "smtpd/outbound/dkim.hpp"
#include "smtpd/outbound/dkim_admin.hpp"
#include "smtpd/outbound/queue_admin.hpp"
#include "storage/mail_store.hpp"

namespace {

using namespace roost;

constexpr const char* kUsage = R"(usage: roost [--config PATH] COMMAND ...

  up                                  start every daemon, restart any that dies, stop all on SIGTERM
  domain add|remove DOMAIN            add or remove a mail domain
  domain list
  user add ADDRESS [--password-stdin] [--quota SIZE]
                                      add an account (a random password is printed without --password-stdin)
  user list [DOMAIN]
  user passwd ADDRESS [--password-stdin]
  user quota ADDRESS SIZE             set the quota (0 = unlimited; sizes like 500M, 2G)
  user disable|enable|remove ADDRESS
  alias add SOURCE TARGET...          SOURCE "@domain" is the domain's catch-all
  alias list [DOMAIN]
  alias remove SOURCE [TARGET]
  mailbox list ADDRESS                mailboxes with message counts and sizes
  queue list                          the outbound queue
  queue show ID                       one queued message: envelope, each recipient's state and last reply,
                                      the message's header
  queue retry ID                      try the entry again now
  queue delete ID                     remove the entry (no notice to the sender)
  queue flush                         try every entry again now
  dkim generate DOMAIN [--selector S] [--algorithm rsa|ed25519]
                                      create a DKIM signing key and print its DNS TXT record (again for
                                      a domain with a key: a new selector; both sign until one is removed)
  dkim list [DOMAIN]                  signing keys and their DNS TXT records
  dkim remove DOMAIN SELECTOR
  admin add ADDRESS [--password-stdin] add a web panel administrator (a random password is printed without
                                      --password-stdin)
  admin passwd ADDRESS [--password-stdin]
  admin remove ADDRESS [--force]      remove an administrator, its panel sessions and API tokens (the last
                                      one only with --force)
  admin list
  config check                        validate the configuration and exit
  config docs                         print the configuration reference (Markdown)
  config get KEY                      print the value in effect (file, then ROOST_* environment), e.g.
                                      `smtp.listen` or `hostname`; lists comma-separated

--config PATH defaults to $ROOST_CONFIG, then /etc/roost/roost.toml.
)";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;  // --quota SIZE
    std::vector<std::string> flags;              // --password-stdin
    bool flag(const std::string& f) const { return std::find(flags.begin(), flags.end(), f) != flags.end(); }
};

std::string random_password() {
    static constexpr char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    std::random_device rd;
    std::string p;
    for (int i = 0; i < 20; ++i) p += alphabet[rd() % (sizeof alphabet - 1)];
    return p;
}

std::string read_password_stdin() {
    std::string line;
    if (!std::getline(std::cin, line)) throw std::runtime_error("no password on standard input");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw std::runtime_error("empty password on standard input");
    return line;
}

std::string human_size(std::uint64_t v) {
    std::ostringstream o;
    if (v >= (1ull << 30)) o << std::fixed << std::setprecision(1) << double(v) / (1ull << 30) << "G";
    else if (v >= (1ull << 20)) o << std::fixed << std::setprecision(1) << double(v) / (1ull << 20) << "M";
    else if (v >= 1024) o << std::fixed << std::setprecision(1) << double(v) / 1024 << "K";
    else o << v;
    return o.str();
}

template <class T>
T check(store::Result<T> r) {
    if (!r) throw std::runtime_error(r.error().message);
    return std::move(r).value();
}

void need(const Args& a, std::size_t n, const char* what) {
    if (a.positional.size() < n) throw UsageError(std::string("missing ") + what);
}

auth::Argon2Params argon2(const Config& c) {
    auth::Argon2Params p;
    p.m_cost_kib = c.auth.argon2_memory_kib;
    p.t_cost = c.auth.argon2_iterations;
    return p;
}

int run_store_command(const Config& config, const std::string& group, const std::string& verb, const Args& a) {
    auto store = store::open_sqlite_store(store_options(config, false));
    auto& s = *store;
    if (group == "domain") {
        if (verb == "add") {
            need(a, 1, "DOMAIN");
            auto d = check(s.add_domain(a.positional[0]));
            std::cout << "added domain " << d.name << "\n";
        } else if (verb == "list") {
            for (auto& d : check(s.list_domains())) std::cout << d.name << "\n";
        } else if (verb == "remove") {
            need(a, 1, "DOMAIN");
            check(s.remove_domain(a.positional[0]));
            std::cout << "removed domain " << a.positional[0] << "\n";
        } else throw UsageError("unknown command 'domain " + verb + "'");
    } else if (group == "user") {
        if (verb == "add") {
            need(a, 1, "ADDRESS");
            std::uint64_t quota = 0;
            if (auto q = a.options.find("--quota"); q != a.options.end() && !parse_size(q->second, quota))
                throw std::runtime_error("invalid quota '" + q->second + "'");
            bool generated = !a.flag("--password-stdin");
            auto password = generated ? random_password() : read_password_stdin();
            auto acc = check(s.add_account(a.positional[0], auth::hash_password(password, argon2(config)), quota));
            std::cout << "added user " << acc.address << "\n";
            if (generated) std::cout << "password: " << password << "\n";
        } else if (verb == "list") {
            auto accounts = check(s.list_accounts(a.positional.empty() ? "" : a.positional[0]));
            std::cout << std::left << std::setw(36) << "ADDRESS" << std::setw(10) << "USED" << std::setw(10) << "QUOTA"
                      << "STATUS\n";
            for (auto& acc : accounts)
                std::cout << std::setw(36) << acc.address << std::setw(10) << human_size(acc.used_bytes) << std::setw(10)
                          << (acc.quota_bytes ? human_size(acc.quota_bytes) : "-") << (acc.enabled ? "enabled" : "disabled")
                          << "\n";
        } else if (verb == "passwd") {
            need(a, 1, "ADDRESS");
            bool generated = !a.flag("--password-stdin");
            auto password = generated ? random_password() : read_password_stdin();
            check(s.find_account(a.positional[0]));
            check(s.set_password(a.positional[0], auth::hash_password(password, argon2(config))));
            std::cout << "password changed for " << a.positional[0] << "\n";
            if (generated) std::cout << "password: " << password << "\n";
        } else if (verb == "quota") {
            need(a, 2, "ADDRESS SIZE");
            std::uint64_t quota = 0;
            if (!parse_size(a.positional[1], quota)) throw std::runtime_error("invalid quota '" + a.positional[1] + "'");
            check(s.set_quota(a.positional[0], quota));
            std::cout << "quota of " << a.positional[0] << " set to " << (quota ? human_size(quota) : "unlimited") << "\n";
        } else if (verb == "disable" || verb == "enable") {
            need(a, 1, "ADDRESS");
            check(s.set_enabled(a.positional[0], verb == "enable"));
            std::cout << verb << "d " << a.positional[0] << "\n";
        } else if (verb == "remove") {
            need(a, 1, "ADDRESS");
            check(s.remove_account(a.positional[0]));
            std::cout << "removed user " << a.positional[0] << " and all of its mail\n";
        } else throw UsageError("unknown command 'user " + verb + "'");
    } else if (group == "alias") {
        if (verb == "add") {
            need(a, 2, "SOURCE TARGET");
            std::vector<std::string> targets(a.positional.begin() + 1, a.positional.end());
            check(s.add_alias(a.positional[0], targets));
            std::cout << "added alias " << a.positional[0] << "\n";
        } else if (verb == "list") {
            for (auto& al : check(s.list_aliases(a.positional.empty() ? "" : a.positional[0]))) {
                std::cout << al.source << " ->";
                for (auto& t : al.targets) std::cout << " " << t;
                std::cout << "\n";
            }
        } else if (verb == "remove") {
            need(a, 1, "SOURCE");
            check(s.remove_alias(a.positional[0], a.positional.size() > 1 ? a.positional[1] : ""));
            std::cout << "removed alias " << a.positional[0] << "\n";
        } else throw UsageError("unknown command 'alias " + verb + "'");
    } else if (group == "mailbox") {
        if (verb != "list") throw UsageError("unknown command 'mailbox " + verb + "'");
        need(a, 1, "ADDRESS");
        auto acc = check(s.find_account(a.positional[0]));
        std::cout << std::left << std::setw(24) << "MAILBOX" << std::setw(12) << "SPECIAL-USE" << std::setw(10)
                  << "MESSAGES" << std::setw(8) << "UNSEEN" << "SIZE\n";
        for (auto& m : check(s.list_mailboxes(acc.id)))
            std::cout << std::setw(24) << m.name << std::setw(12) << (m.special_use.empty() ? "-" : m.special_use)
                      << std::setw(10) << m.messages << std::setw(8) << m.unseen << human_size(m.size) << "\n";
    } else if (group == "queue") {
        outbound::QueueAdmin q(s);
        auto id_arg = [&] {
            need(a, 1, "ID");
            auto id = outbound::parse_queue_id(a.positional[0]);
            if (!id) throw std::runtime_error("invalid queue id '" + a.positional[0] + "'");
            return *id;
        };
        if (verb == "list") {
            std::cout << outbound::render_queue_list(check(q.list()), std::time(nullptr));
        } else if (verb == "show") {
            auto e = check(q.show(id_arg()));
            std::cout << outbound::render_queue_entry(e, check(q.headers(e)));
        } else if (verb == "retry") {
            auto id = id_arg();
            check(q.retry(id));
            std::cout << "queue entry " << id << " will be retried now\n";
        } else if (verb == "delete") {
            auto id = id_arg();
            check(q.remove(id));
            std::cout << "deleted queue entry " << id << "\n";
        } else if (verb == "flush") {
            check(q.flush());
            std::cout << "every queue entry will be retried now\n";
        } else throw UsageError("unknown command 'queue " + verb + "'");
    } else if (group == "admin") {
        // Administrators of the web panel and API (roost-admin); separate from mail accounts.
        if (verb == "add") {
            need(a, 1, "ADDRESS");
            bool generated = !a.flag("--password-stdin");
            auto password = generated ? random_password() : read_password_stdin();
            auto adm = check(s.add_admin(a.positional[0], auth::hash_password(password, argon2(config))));
            std::cout << "added admin " << adm.address << "\n";
            if (generated) std::cout << "password: " << password << "\n";
        } else if (verb == "passwd") {
            need(a, 1, "ADDRESS");
            bool generated = !a.flag("--password-stdin");
            auto password = generated ? random_password() : read_password_stdin();
            check(s.set_admin_password(a.positional[0], auth::hash_password(password, argon2(config))));
            std::cout << "password changed for admin " << a.positional[0] << "\n";
            if (generated) std::cout << "password: " << password << "\n";
        } else if (verb == "remove") {
            need(a, 1, "ADDRESS");
            // Removing the only administrator locks everyone out of the panel and the API: only on purpose.
            auto admins = check(s.list_admins());
            if (admins.size() == 1 && !a.flag("--force") &&
                strcasecmp(admins.front().address.c_str(), a.positional[0].c_str()) == 0)
                throw std::runtime_error("'" + admins.front().address +
                                         "' is the last administrator; add another first, or pass --force");
            check(s.remove_admin(a.positional[0]));
            std::cout << "removed admin " << a.positional[0] << "\n";
        } else if (verb == "list") {
            auto admins = check(s.list_admins());
            std::cout << std::left << std::setw(36) << "ADDRESS" << "CREATED\n";
            for (auto& adm : admins) {
                std::time_t t = adm.created;
                std::tm tm{};
                gmtime_r(&t, &tm);
                char when[32];
                std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
                std::cout << std::setw(36) << adm.address << when << "\n";
            }
        } else throw UsageError("unknown command 'admin " + verb + "'");
    } else if (group == "dkim") {
        if (verb == "generate") {
            need(a, 1, "DOMAIN");
            auto opt = [&](const char* k) { auto it = a.options.find(k); return it == a.options.end() ? std::string() : it->second; };
            auto key = check(outbound::create_dkim_key(s, a.positional[0], opt("--algorithm"), opt("--selector"),
                                                       std::time(nullptr)));
            std::cout << "; DKIM key for " << key.domain << " (" << key.algorithm << ", selector " << key.selector
                      << "), publish in DNS:\n"
                      << key.txt_record << "\n";
        } else if (verb == "list") {
            for (auto& k : check(s.dkim_keys(a.positional.empty() ? "" : a.positional[0]))) {
                std::string error;
                auto value = outbound::dkim_dns_value(k.private_key_pem, k.algorithm, error);
                std::cout << "; " << k.domain << " selector " << k.selector << " (" << k.algorithm << ")\n"
                          << (value ? outbound::dkim_txt_record(k.selector, k.domain, *value) : "; " + error) << "\n";
            }
        } else if (verb == "remove") {
            need(a, 2, "DOMAIN SELECTOR");
            check(s.remove_dkim_key(a.positional[0], a.positional[1]));
            std::cout << "removed DKIM key " << a.positional[1] << " of " << a.positional[0] << "\n";
        } else throw UsageError("unknown command 'dkim " + verb + "'");
    } else throw UsageError("unknown command '" + group + "'");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_arg;
    Args args;
    std::vector<std::string> words;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--config" && i + 1 < argc) config_arg = argv[++i];
        else if (a.rfind("--config=", 0) == 0) config_arg = a.substr(9);
        else if ((a == "--quota" || a == "--selector" || a == "--algorithm") && i + 1 < argc) args.options[a] = argv[++i];
        else if (a == "--password-stdin" || a == "--force") args.flags.push_back(a);
        else if (a == "--help" || a == "-h") {
            std::cout << kUsage;
            return 0;
        } else if (a.size() > 1 && a[0] == '-' && a[1] == '-') {
            std::cerr << "roost: unknown option '" << a << "'\n" << kUsage;
            return 2;
        } else words.push_back(a);
    }
    if (words.empty()) {
        std::cerr << kUsage;
        return 2;
    }
    try {
        auto path = config_path(config_arg);
        if (words[0] == "config") {
            if (words.size() > 1 && words[1] == "docs") {
                std::cout << config_reference_markdown();
                return 0;
            }
            if (words.size() > 1 && words[1] == "get") {
                if (words.size() != 3) throw UsageError("usage: roost config get KEY");
                auto value = config_value(load_config(path), words[2]);
                if (!value) throw std::runtime_error("unknown configuration key '" + words[2] + "'");
                std::cout << *value << "\n";
                return 0;
            }
            if (words.size() < 2 || words[1] != "check") throw UsageError("usage: roost config check|docs|get");
            auto c = load_config(path);
            std::cout << path << ": ok (hostname " << c.hostname << ", data_dir " << c.data_dir << ")\n";
            return 0;
        }
        auto config = load_config(path);
        if (words[0] == "up") return cli::supervise(argv[0], path, config);
        if (words.size() < 2) throw UsageError("missing subcommand for '" + words[0] + "'");
        args.positional.assign(words.begin() + 2, words.end());
        return run_store_command(config, words[0], words[1], args);
    } catch (const UsageError& e) {
        std::cerr << "roost: " << e.what() << "\n" << kUsage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "roost: " << e.what() << "\n";
        return 1;
    }
}
