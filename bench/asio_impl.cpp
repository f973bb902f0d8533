// Standalone builds only (cmake -S bench): Asio compiled once, as common/net/asio_impl.cpp does for the
// normal build, where roost-bench links roost_net instead. No TLS: roost-bench speaks plain TCP.
#include <boost/asio/impl/src.hpp>
