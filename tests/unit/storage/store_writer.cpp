// Test helper: delivers COUNT messages to ACCOUNT's INBOX from a separate process, the way a second
// daemon would. Exit status 0 only if every delivery succeeded.
//   store_writer DATA_DIR ACCOUNT COUNT
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "storage/mail_store.hpp"

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: store_writer DATA_DIR ACCOUNT COUNT\n");
        return 2;
    }
    std::string dir = argv[1];
    int count = std::atoi(argv[3]);
    try {
        roost::store::StoreOptions o;
        o.path = dir + "/roost.db";
        o.run_dir = dir + "/run";
        o.notifications = false;
        auto store = roost::store::open_sqlite_store(o);
        auto acc = store->find_account(argv[2]);
        if (!acc) {
            std::fprintf(stderr, "store_writer: %s\n", acc.error().message.c_str());
            return 1;
        }
        int failures = 0;
        for (int i = 0; i < count; ++i) {
            roost::store::DeliveryRequest r;
            auto tag = std::to_string(::getpid()) + "-" + std::to_string(i);
            r.raw = "From: writer@remote.test\r\nTo: " + acc->address + "\r\nSubject: from process " + tag +
                    "\r\nMessage-ID: <" + tag + "@remote.test>\r\n\r\nbody " + tag + "\r\n";
            r.accounts = {acc->id};
            auto res = store->deliver_sync(std::move(r));
            if (!res) {
                std::fprintf(stderr, "store_writer: delivery %d failed: %s\n", i, res.error().message.c_str());
                ++failures;
            }
        }
        return failures == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "store_writer: %s\n", e.what());
        return 1;
    }
}
